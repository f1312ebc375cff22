package server

import (
	"context"
	"crypto/x509"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/ra"
)

// Signals an operator pages on that no request shows: a CRL running out
// or owed a revocation, the OCSP responder's certificate running out or
// its answers no longer following the store, a
// scheduled SoLR revocation not run when due, audit entries left out of
// the chain. Each is read from the store at each scrape (a few small
// reads), so a standby instance on PostgreSQL reports the same as the
// leader.
var (
	crlNextUpdateDesc = prometheus.NewDesc("smki_crl_next_update_timestamp_seconds",
		"nextUpdate of the stored CRL (Unix seconds): relying parties reject it after; the server reissues it at half its lifetime.", []string{"crl"}, nil)
	crlOwedDesc = prometheus.NewDesc("smki_crl_owed",
		"1 while a revocation is recorded that the stored CRL does not list yet (its key could not sign), else 0.", []string{"crl"}, nil)
	ocspExpiryDesc = prometheus.NewDesc("smki_ocsp_responder_cert_expiry_timestamp_seconds",
		"notAfter of the OCSP responder certificate in use (Unix seconds); the server replaces it half way through its life.", nil, nil)
	ocspSyncAgeDesc = prometheus.NewDesc("smki_ocsp_sync_age_seconds",
		"How long ago the OCSP responder last read the store's changes successfully (it does every 200 ms): revocations since then are not yet in its answers.", nil, nil)
	jobOverdueDesc = prometheus.NewDesc("smki_ra_scheduled_job_overdue_seconds",
		"How long the oldest scheduled job (a SoLR revocation) that is due has waited past its due time; 0 while none is due.", nil, nil)
	auditUnsealedDesc = prometheus.NewDesc("smki_audit_unsealed_entries",
		"Audit entries durable but not yet chained (PostgreSQL's pending rows, bbolt's audit journal; sealed every 100 ms).", nil, nil)
	auditOldestDesc = prometheus.NewDesc("smki_audit_unsealed_oldest_seconds",
		"Age of the oldest audit entry not yet chained; 0 while none waits.", nil, nil)
	auditSealFailuresDesc = prometheus.NewDesc("smki_audit_seal_failures_total",
		"Background audit seals that failed since the store was opened (each streak logged as 'audit seal failed').", nil, nil)
)

// crlNames are the CRLs the signals report (the crl label).
var crlNames = []string{ca.ORL, ca.ARL}

// signals collects them; a source that fails is left out of the scrape
// (and logged), never reported as a healthy value.
type signals struct {
	crl       func(ctx context.Context, name string) (ca.ARLStatus, error)
	responder func() *x509.Certificate // nil result: no responder yet
	ocspSync  func() time.Duration     // ocsp.Responder.SyncAge
	jobs      func(ctx context.Context) ([]ra.Job, error)
	backlog   func(ctx context.Context) (int, time.Time, error) // store.AuditSealMonitor; nil: none
	// sealFailures is store.AuditSealMonitor's; nil: none.
	sealFailures func() uint64
	now          func() time.Time
	log          *slog.Logger
}

func (signals) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{crlNextUpdateDesc, crlOwedDesc, ocspExpiryDesc, ocspSyncAgeDesc, jobOverdueDesc, auditUnsealedDesc, auditOldestDesc, auditSealFailuresDesc} {
		ch <- d
	}
}

func (s signals) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := s.now()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, name := range crlNames {
		st, err := s.crl(ctx, name)
		if err != nil {
			s.log.Warn("metrics: reading the CRL's state failed", "crl", name, "err", err)
			continue
		}
		if st.State != ca.ARLMissing {
			gauge(crlNextUpdateDesc, float64(st.NextUpdate.Unix()), name)
		}
		gauge(crlOwedDesc, b2f(st.Owed), name)
	}
	if c := s.responder(); c != nil {
		gauge(ocspExpiryDesc, float64(c.NotAfter.Unix()))
	}
	gauge(ocspSyncAgeDesc, s.ocspSync().Seconds())
	if jobs, err := s.jobs(ctx); err != nil {
		s.log.Warn("metrics: reading the scheduled jobs failed", "err", err)
	} else {
		var overdue time.Duration
		for _, j := range jobs {
			overdue = max(overdue, now.Sub(j.DueAt))
		}
		gauge(jobOverdueDesc, overdue.Seconds())
	}
	if s.sealFailures != nil {
		ch <- prometheus.MustNewConstMetric(auditSealFailuresDesc, prometheus.CounterValue, float64(s.sealFailures()))
	}
	if s.backlog != nil {
		n, oldest, err := s.backlog(ctx)
		if err != nil {
			s.log.Warn("metrics: reading the audit backlog failed", "err", err)
			return
		}
		age := 0.0
		if n > 0 {
			age = max(0, now.Sub(oldest).Seconds())
		}
		gauge(auditUnsealedDesc, float64(n))
		gauge(auditOldestDesc, age)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
