package ra

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// The access CA's revocation list (issue 12 finding 8). A removed
// officer's credential, or one superseded by a renewal or re-issue, stays
// a valid certificate of the access root until it expires; the RA refused
// it on every request, after the handshake, with an audit record each.
// Now every such serial is recorded (kindAccessRevoked) in the transaction
// that removes the officer or replaces its credential, the access CA signs
// a CRL of them (Service.AccessCRL, served at /crl/access.crl), and the
// server's TLS layer refuses a listed credential during the handshake
// (Service.CheckAccess). The per-request check (Authenticate) stays: it
// covers the moment between a commit on another instance and this one's
// next refresh, and credentials superseded before the list was kept.

// kindAccessRevoked is the record of an officer credential the RA no
// longer accepts; ID: the credential's serial (lower-case hex).
const kindAccessRevoked = "access-revoked"

type accessRevoked struct {
	Officer string    `json:"officer"`
	At      time.Time `json:"at"`
	Reason  string    `json:"reason"` // accessSuperseded or accessRemoved
}

const (
	accessSuperseded = "superseded"
	accessRemoved    = "removed"
)

// crlReason is the RFC 5280 reason code of each.
var crlReason = map[string]int{accessSuperseded: 4, accessRemoved: 3}

// accessRefreshEvery is how often a server re-reads the list from the
// store (another instance may have removed an officer), and
// accessResignAfter how old the signed CRL may get before it is signed
// again although the list is unchanged.
const (
	accessRefreshEvery = 10 * time.Second
	accessResignAfter  = ownpki.AccessCRLValidity / 4
)

// accessList is the current signed list.
type accessList struct {
	mu  sync.Mutex // one refresh at a time
	cur atomic.Pointer[accessSnapshot]
}

type accessSnapshot struct {
	revoked map[string]string // serial -> officer ID
	digest  [32]byte          // of the sorted serials
	crl     []byte
	number  int64
	signed  time.Time
}

// accessTx records, whenever an officer is written, the credential the
// write retires: the old serial when it changes, the current one when
// the officer is removed. It is the one place the list is fed, so no
// path that replaces or removes a credential can forget it.
type accessTx struct {
	store.Tx
	now     func() time.Time
	changed *bool
}

func (t accessTx) PutOfficer(o store.Officer) error {
	old, err := t.Tx.GetOfficer(o.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err == nil && old.CertSerial != "" {
		reason := ""
		switch {
		case old.CertSerial != o.CertSerial:
			reason = accessSuperseded
		case o.Status == store.StatusRemoved && old.Status != store.StatusRemoved:
			reason = accessRemoved
		}
		if reason != "" {
			if err := records.Put(t.Tx, kindAccessRevoked, old.CertSerial, accessRevoked{Officer: o.ID, At: t.now().UTC(), Reason: reason}); err != nil {
				return err
			}
			*t.changed = true
		}
	}
	return t.Tx.PutOfficer(o)
}

// accessStore wraps the Service's store so that every Update or Urgent
// runs through accessTx and, once a transaction that retired a credential
// has committed, the list is signed again before the caller returns: the
// next handshake with that credential is refused.
type accessStore struct {
	store.Store
	svc *Service
}

func (s accessStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.watch(ctx, s.Store.Update, fn)
}

func (s accessStore) Urgent(ctx context.Context, fn func(store.Tx) error) error {
	return s.watch(ctx, s.Store.Urgent, fn)
}

func (s accessStore) watch(ctx context.Context, run func(context.Context, func(store.Tx) error) error, fn func(store.Tx) error) error {
	var changed bool
	err := run(ctx, func(tx store.Tx) error {
		changed = false // fn may run again if the engine retries
		return fn(accessTx{Tx: tx, now: s.svc.now, changed: &changed})
	})
	if err == nil && changed {
		if rerr := s.svc.RefreshAccess(context.WithoutCancel(ctx)); rerr != nil {
			s.svc.log.LogAttrs(ctx, slog.LevelError, "ra access CRL refresh failed (the per-request check still refuses the credential)",
				slog.String("error", rerr.Error()))
		}
	}
	return err
}

// RefreshAccess reads the revoked credentials from the store and, if the
// list changed or the CRL is getting old, signs a new access CRL.
// Officers removed before the list was kept count by their current
// serial.
func (s *Service) RefreshAccess(ctx context.Context) error {
	s.acl.mu.Lock()
	defer s.acl.mu.Unlock()
	revoked := map[string]ownpki.RevokedCredential{}
	owners := map[string]string{}
	err := s.st.View(ctx, func(tx store.Tx) error {
		recs, err := tx.ListRecords(kindAccessRevoked, "", 0)
		if err != nil {
			return err
		}
		for _, r := range recs {
			var v accessRevoked
			if err := json.Unmarshal(r.Value, &v); err != nil {
				return fmt.Errorf("%w: record %s/%s: %v", ErrInternal, kindAccessRevoked, r.ID, err)
			}
			revoked[r.ID] = ownpki.RevokedCredential{Serial: r.ID, At: v.At, Reason: crlReason[v.Reason]}
			owners[r.ID] = v.Officer
		}
		officers, err := tx.ListOfficers("")
		if err != nil {
			return err
		}
		for _, o := range officers {
			if _, ok := revoked[o.CertSerial]; !ok && o.Status == store.StatusRemoved && o.CertSerial != "" {
				revoked[o.CertSerial] = ownpki.RevokedCredential{Serial: o.CertSerial, At: o.CreatedAt, Reason: crlReason[accessRemoved]}
				owners[o.CertSerial] = o.ID
			}
		}
		return nil
	})
	if err != nil {
		return raerr.FromStore("access CRL", err)
	}
	serials := make([]string, 0, len(revoked))
	for sn := range revoked {
		serials = append(serials, sn)
	}
	slices.Sort(serials)
	h := sha256.New()
	for _, sn := range serials {
		h.Write([]byte(sn + "\n"))
	}
	var digest [32]byte
	copy(digest[:], h.Sum(nil))
	now := s.now()
	old := s.acl.cur.Load()
	if old != nil && old.digest == digest && now.Sub(old.signed) < accessResignAfter {
		return nil
	}
	// CRL numbers grow across restarts and instances: the clock in
	// milliseconds, or one more than the last.
	number := now.UnixMilli()
	if old != nil && number <= old.number {
		number = old.number + 1
	}
	list := make([]ownpki.RevokedCredential, 0, len(serials))
	for _, sn := range serials {
		list = append(list, revoked[sn])
	}
	der, err := s.access.CRL(list, number)
	if err != nil {
		return err
	}
	s.acl.cur.Store(&accessSnapshot{revoked: owners, digest: digest, crl: der, number: number, signed: now})
	if old == nil || old.digest != digest {
		s.log.LogAttrs(ctx, slog.LevelInfo, "ra access CRL signed", slog.Int64("number", number), slog.Int("revoked", len(serials)))
	}
	return nil
}

// RunAccessRefresh refreshes the access CRL every interval (0: the
// default, 10 s) until ctx ends, so that a removal committed by another
// instance reaches this one's TLS layer.
func (s *Service) RunAccessRefresh(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = accessRefreshEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.RefreshAccess(ctx); err != nil && ctx.Err() == nil {
			s.log.LogAttrs(ctx, slog.LevelError, "ra access CRL refresh", slog.String("error", err.Error()))
		}
	}
}

// AccessCRL returns the current access CRL (DER), or nil before the first
// RefreshAccess.
func (s *Service) AccessCRL() []byte {
	if c := s.acl.cur.Load(); c != nil {
		return c.crl
	}
	return nil
}

// CheckAccess is the TLS layer's check of an officer credential presented
// in a handshake (tls.Config.VerifyConnection): a credential on the access
// CRL is refused with ErrOfficerInactive, and the refusal is audited
// through the refusal coalescer (one record per credential and window,
// with a count). Before the first refresh nothing is refused here; the
// per-request check still applies.
func (s *Service) CheckAccess(ctx context.Context, cert *x509.Certificate) error {
	c := s.acl.cur.Load()
	if c == nil || cert == nil {
		return nil
	}
	serial := ownpki.SerialOf(cert)
	id, ok := c.revoked[serial]
	if !ok {
		return nil
	}
	err := fmt.Errorf("%w: officer %s: credential %s is on the access CA's revocation list (the officer was removed or the credential superseded); refused at TLS, use the officer's current credential",
		ErrOfficerInactive, id, serial)
	s.refusedCredential(ctx, "unauthenticated:"+cert.Subject.CommonName, "serial:"+serial, err)
	return err
}
