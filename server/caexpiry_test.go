package server

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/store/bolt"
)

// TestCACertExpiryWarned: an operator learns that a CA certificate is
// running out long before it does: within caExpiryWarning of the Issuing
// (or Root) OCA's notAfter the server warns (at start, then at most
// daily), /metrics has smki_ca_cert_expiry_timestamp_seconds for each to
// alert on, and once the Issuing OCA has expired /readyz says why nothing
// can be issued.
func TestCACertExpiryWarned(t *testing.T) {
	t.Parallel()
	authority := expiryCA(t, ca.InitOptions{IssuingValidity: 400 * 24 * time.Hour})
	var logs bytes.Buffer
	w := newCAExpiry(authority, slog.New(slog.NewTextHandler(&logs, nil)))
	end := authority.Issuing().NotAfter

	w.observe(end.Add(-2 * caExpiryWarning))
	if logs.Len() != 0 {
		t.Errorf("warned with two warning periods left:\n%s", &logs)
	}
	w.observe(end.Add(-100 * 24 * time.Hour))
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "Issuing OCA certificate expires") {
		t.Errorf("no warning 100 days before the Issuing OCA expires:\n%s", &logs)
	}
	logs.Reset()
	w.observe(end.Add(-100*24*time.Hour + time.Hour))
	if logs.Len() != 0 {
		t.Errorf("warned again within the day:\n%s", &logs)
	}
	w.observe(end.Add(-99 * 24 * time.Hour))
	if !strings.Contains(logs.String(), "Issuing OCA certificate expires") {
		t.Errorf("not warned again a day later:\n%s", &logs)
	}
	if r := w.notReady(end.Add(-time.Hour)); r != "" {
		t.Errorf("not ready an hour before expiry: %s", r)
	}
	logs.Reset()
	after := end.Add(time.Second)
	w.observe(after)
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "Issuing OCA certificate expired") {
		t.Errorf("no error once the Issuing OCA expired:\n%s", &logs)
	}
	if r := w.notReady(after); !strings.Contains(r, "expired") {
		t.Errorf("readiness once the Issuing OCA expired: %q", r)
	}

	reg := prometheus.NewRegistry()
	if err := w.register(reg); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != "smki_ca_cert_expiry_timestamp_seconds" {
		t.Fatalf("gathered %v, %v", mfs, err)
	}
	got := map[string]float64{}
	for _, m := range mfs[0].GetMetric() {
		got[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
	}
	if got["issuing"] != float64(end.Unix()) || got["root"] != float64(authority.Root().NotAfter.Unix()) {
		t.Errorf("smki_ca_cert_expiry_timestamp_seconds = %v, want issuing %d, root %d", got, end.Unix(), authority.Root().NotAfter.Unix())
	}
}

// TestRootExpirySaysWhatToDo: once the Root OCA has expired (the Issuing
// OCA, which cannot outlive it, with it) nothing under it is trusted, and
// a new Issuing OCA would not help: the server's error names the Root,
// carries E_CA_EXPIRED and says a new Root OCA must be made (key
// ceremony) and given to every relying party; /readyz says the Root has
// expired, not only the Issuing OCA; the metric has the Root's notAfter.
func TestRootExpirySaysWhatToDo(t *testing.T) {
	t.Parallel()
	authority := expiryCA(t, ca.InitOptions{RootValidity: 400 * 24 * time.Hour, IssuingValidity: 300 * 24 * time.Hour})
	var logs bytes.Buffer
	w := newCAExpiry(authority, slog.New(slog.NewTextHandler(&logs, nil)))
	after := authority.Root().NotAfter.Add(time.Second)

	w.observe(after)
	for _, want := range []string{"level=ERROR", "Root OCA certificate expired", "code=E_CA_EXPIRED", "new Root OCA", "relying part"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log once the Root OCA expired lacks %q:\n%s", want, &logs)
		}
	}
	if strings.Contains(logs.String(), "Root OCA certificate expired: nothing can be issued under it; bring a new Issuing OCA") {
		t.Errorf("log once the Root OCA expired advises a new Issuing OCA, which would chain to the expired Root:\n%s", &logs)
	}
	if r := w.notReady(after); !strings.Contains(r, "Root OCA certificate expired") || !strings.Contains(r, "new Root OCA") {
		t.Errorf("readiness once the Root OCA expired: %q, want it to name the Root and what to do", r)
	}
}

// expiryCA is a CA made now with opts, closed when the test ends.
func expiryCA(t *testing.T, opts ca.InitOptions) *ca.CA {
	t.Helper()
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "smki.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := ca.Config{Dir: dir, Passphrase: []byte("pw")}
	ctx := context.Background()
	if err := ca.Init(ctx, st, cfg, opts); err != nil {
		t.Fatal(err)
	}
	authority, err := ca.Open(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { authority.Close() })
	return authority
}
