package server

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/internal/metricdoc"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/store"
	"github.com/smki/smki/store/storetest"
)

// series is metricdoc.Values, failing the test on an error.
func series(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	v, err := metricdoc.Values(reg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSignalsOfAServer: a dev server reports each CRL's nextUpdate as
// stored and not owed, its OCSP responder certificate's notAfter, no
// scheduled job overdue, every readiness check passing and its audit
// journal sealed. Its store closed
// under it, smki_server_check_ok{check="store"} and smki_server_ready
// turn 0.
func TestSignalsOfAServer(t *testing.T) {
	t.Parallel()
	s, _, _, _ := serveDev(t)
	got := series(t, s.reg)
	for _, name := range []string{ca.ORL, ca.ARL} {
		st, err := s.authority.CRLStatus(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if v := got[`smki_crl_next_update_timestamp_seconds{crl="`+name+`"}`]; v != float64(st.NextUpdate.Unix()) {
			t.Errorf("%s next update %v, stored %v", name, v, st.NextUpdate.Unix())
		}
		if v, ok := got[`smki_crl_owed{crl="`+name+`"}`]; !ok || v != 0 {
			t.Errorf("%s owed %v (present %v), want 0", name, v, ok)
		}
	}
	if v := got["smki_ocsp_responder_cert_expiry_timestamp_seconds"]; v != float64(s.ocsp.ResponderCertificate().NotAfter.Unix()) {
		t.Errorf("OCSP responder expiry %v, want %v", v, s.ocsp.ResponderCertificate().NotAfter.Unix())
	}
	if v, ok := got["smki_ocsp_sync_age_seconds"]; !ok || v > 60 {
		t.Errorf("OCSP sync age %v (present %v), want under a minute", v, ok)
	}
	if v, ok := got["smki_ra_scheduled_job_overdue_seconds"]; !ok || v != 0 {
		t.Errorf("scheduled job overdue %v (present %v), want 0", v, ok)
	}
	if v, ok := got["smki_audit_unsealed_oldest_seconds"]; !ok || v > 60 {
		t.Errorf("audit unsealed oldest %v (present %v), want under a minute", v, ok)
	}
	for _, c := range readyChecks {
		if v := got[`smki_server_check_ok{check="`+c+`"}`]; v != 1 {
			t.Errorf("check %s = %v, want 1", c, v)
		}
	}
	if got["smki_server_ready"] != 1 {
		t.Errorf("smki_server_ready %v, want 1", got["smki_server_ready"])
	}

	s.st.Close()
	got = series(t, s.reg)
	if got[`smki_server_check_ok{check="store"}`] != 0 || got["smki_server_ready"] != 0 || got[`smki_server_check_ok{check="ca_key"}`] != 1 {
		t.Errorf("store closed: check_ok store %v, ca_key %v, ready %v; want 0, 1, 0",
			got[`smki_server_check_ok{check="store"}`], got[`smki_server_check_ok{check="ca_key"}`], got["smki_server_ready"])
	}
}

// TestSignalsConditions: each paging condition made to happen shows in
// its series, and a source that cannot be read leaves its series out
// rather than reporting a healthy value.
func TestSignalsConditions(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	next := now.Add(3 * time.Hour)
	okCRL := func(context.Context, string) (ca.ARLStatus, error) {
		return ca.ARLStatus{State: ca.ARLOK, NextUpdate: next}, nil
	}
	noJobs := func(context.Context) ([]ra.Job, error) { return nil, nil }
	responder := &x509.Certificate{NotAfter: now.Add(48 * time.Hour)}
	failed := errors.New("store down")
	for _, tc := range []struct {
		name   string
		edit   func(*signals)
		want   map[string]float64
		absent []string
	}{
		{"healthy", func(*signals) {}, map[string]float64{
			`smki_crl_owed{crl="orl"}`: 0, `smki_crl_next_update_timestamp_seconds{crl="orl"}`: float64(next.Unix()),
			"smki_ocsp_responder_cert_expiry_timestamp_seconds": float64(responder.NotAfter.Unix()),
			"smki_ra_scheduled_job_overdue_seconds":             0,
			"smki_ocsp_sync_age_seconds":                        0.3,
		}, []string{"smki_audit_unsealed_entries"}},
		{"OCSP not following the store for 10 minutes", func(s *signals) {
			s.ocspSync = func() time.Duration { return 10 * time.Minute }
		}, map[string]float64{"smki_ocsp_sync_age_seconds": 600}, nil},
		{"CRL owed a revocation", func(s *signals) {
			s.crl = func(_ context.Context, n string) (ca.ARLStatus, error) {
				return ca.ARLStatus{State: ca.ARLOK, NextUpdate: next, Owed: n == ca.ORL}, nil
			}
		}, map[string]float64{`smki_crl_owed{crl="orl"}`: 1, `smki_crl_owed{crl="arl"}`: 0}, nil},
		{"no CRL stored", func(s *signals) {
			s.crl = func(context.Context, string) (ca.ARLStatus, error) { return ca.ARLStatus{State: ca.ARLMissing}, nil }
		}, map[string]float64{`smki_crl_owed{crl="arl"}`: 0}, []string{`smki_crl_next_update_timestamp_seconds{crl="arl"}`}},
		{"CRL state unreadable", func(s *signals) {
			s.crl = func(context.Context, string) (ca.ARLStatus, error) { return ca.ARLStatus{}, failed }
		}, nil, []string{`smki_crl_owed{crl="orl"}`, `smki_crl_next_update_timestamp_seconds{crl="orl"}`}},
		{"a SoLR revocation 10 minutes overdue", func(s *signals) {
			s.jobs = func(context.Context) ([]ra.Job, error) {
				return []ra.Job{{DueAt: now.Add(time.Hour)}, {DueAt: now.Add(-10 * time.Minute)}, {DueAt: now.Add(-time.Minute)}}, nil
			}
		}, map[string]float64{"smki_ra_scheduled_job_overdue_seconds": 600}, nil},
		{"jobs unreadable", func(s *signals) {
			s.jobs = func(context.Context) ([]ra.Job, error) { return nil, failed }
		}, nil, []string{"smki_ra_scheduled_job_overdue_seconds"}},
		{"audit not sealed for 2 minutes", func(s *signals) {
			s.backlog = func(context.Context) (int, time.Time, error) { return 3, now.Add(-2 * time.Minute), nil }
		}, map[string]float64{"smki_audit_unsealed_entries": 3, "smki_audit_unsealed_oldest_seconds": 120}, nil},
		{"audit sealed", func(s *signals) {
			s.backlog = func(context.Context) (int, time.Time, error) { return 0, time.Time{}, nil }
		}, map[string]float64{"smki_audit_unsealed_entries": 0, "smki_audit_unsealed_oldest_seconds": 0}, nil},
		{"audit seal failing", func(s *signals) {
			s.sealFailures = func() uint64 { return 7 }
		}, map[string]float64{"smki_audit_seal_failures_total": 7}, nil},
		{"audit backlog unreadable", func(s *signals) {
			s.backlog = func(context.Context) (int, time.Time, error) { return 0, time.Time{}, failed }
		}, nil, []string{"smki_audit_unsealed_entries", "smki_audit_unsealed_oldest_seconds"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig := signals{crl: okCRL, responder: func() *x509.Certificate { return responder }, jobs: noJobs,
				ocspSync: func() time.Duration { return 300 * time.Millisecond },
				now:      func() time.Time { return now }, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			tc.edit(&sig)
			reg := prometheus.NewRegistry()
			reg.MustRegister(sig)
			got := series(t, reg)
			for k, want := range tc.want {
				if v, ok := got[k]; !ok || v != want {
					t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
				}
			}
			for _, k := range tc.absent {
				if _, ok := got[k]; ok {
					t.Errorf("%s present, want it left out", k)
				}
			}
		})
	}
}

// TestSignalsOnPostgres: on PostgreSQL the server reports its audit
// backlog, and the standby reports the CRLs and scheduled jobs the
// leader keeps, read from the shared store.
func TestSignalsOnPostgres(t *testing.T) {
	t.Parallel()
	p := openPGPair(t)
	for name, s := range map[string]*Server{"first": p.a, "second": p.b} {
		got := series(t, s.reg)
		for _, k := range []string{`smki_crl_owed{crl="orl"}`, "smki_ra_scheduled_job_overdue_seconds"} {
			if v, ok := got[k]; !ok || v != 0 {
				t.Errorf("%s instance: %s = %v (present %v), want 0", name, k, v, ok)
			}
		}
		// Sealed every few seconds: present, and young.
		if v, ok := got["smki_audit_unsealed_oldest_seconds"]; !ok || v > 60 {
			t.Errorf("%s instance: smki_audit_unsealed_oldest_seconds = %v (present %v), want under a minute", name, v, ok)
		}
		if _, ok := got["smki_audit_unsealed_entries"]; !ok {
			t.Errorf("%s instance: no smki_audit_unsealed_entries", name)
		}
	}
}

// TestAuditSealFailureSeen: on the default bbolt store, a background
// audit seal that fails reaches the server's log ("audit seal failed",
// engine bbolt) and smki_audit_seal_failures_total, and the journal's
// backlog is exported as on PostgreSQL. Before, the store dropped the
// error and bbolt exported no backlog.
func TestAuditSealFailureSeen(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	var logs storetest.LogBuffer
	s, err := Open(context.Background(), Config{DataDir: data, Listen: "127.0.0.1:0", Dev: true,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := series(t, s.reg); got["smki_audit_seal_failures_total"] != 0 || got["smki_audit_unsealed_oldest_seconds"] > 60 {
		t.Fatalf("healthy: seal failures %v, oldest unsealed %v; want 0, under a minute", got["smki_audit_seal_failures_total"], got["smki_audit_unsealed_oldest_seconds"])
	} else if _, ok := got["smki_audit_unsealed_entries"]; !ok {
		t.Fatal("bbolt exports no smki_audit_unsealed_entries")
	}
	// A directory where the journal's rotation makes its fresh file.
	if err := os.Mkdir(StorePath(data)+".audit.new", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.st.Audit(context.Background(), store.AuditEntry{Time: time.Now(), Actor: "t", Action: "read", Subject: "serial-1", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got := series(t, s.reg)
		if got["smki_audit_seal_failures_total"] > 0 && got["smki_audit_unsealed_entries"] == 1 &&
			strings.Contains(logs.String(), `"msg":"audit seal failed","engine":"bbolt"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sealing fails: seal failures %v, unsealed %v; log:\n%s", got["smki_audit_seal_failures_total"], got["smki_audit_unsealed_entries"], logs.String())
		}
	}
}
