package accessguard

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

// The access CA's revocation list. A removed officer's credential, or one
// superseded by a renewal or re-issue, stays a valid certificate of the
// access root until it expires; the RA refused it on every request, after
// the handshake, with an audit record each. Now every such serial is
// recorded (kindAccessRevoked) in the transaction that removes the
// officer or replaces its credential, the access CA signs a CRL of them
// (List.CRL, served at /crl/access.crl), and the server's TLS layer
// refuses a listed credential during the handshake (List.Revoked, through
// ra.Service.CheckAccess). The RA's per-request check (Authenticate)
// stays: it covers the moment between a commit on another instance and
// this one's next refresh, and credentials superseded before the list was
// kept.

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

// RefreshEvery is how often a server re-reads the list from the store
// (another instance may have removed an officer), and resignAfter how old
// the signed CRL may get before it is signed again although the list is
// unchanged.
const (
	RefreshEvery = 10 * time.Second
	resignAfter  = ownpki.AccessCRLValidity / 4
)

// List is the current signed list of retired officer credentials.
type List struct {
	access *ownpki.AccessCA
	now    func() time.Time
	log    *slog.Logger

	mu  sync.Mutex // one refresh at a time
	cur atomic.Pointer[snapshot]
}

type snapshot struct {
	revoked map[string]string // serial -> officer ID
	digest  [32]byte          // of the sorted serials
	crl     []byte
	number  int64
	signed  time.Time
}

// NewList returns an empty list signed by access.
func NewList(access *ownpki.AccessCA, now func() time.Time, log *slog.Logger) *List {
	return &List{access: access, now: now, log: log}
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

// Watch wraps st so that every Update or Urgent runs through accessTx
// and, once a transaction that retired a credential has committed, the
// list is signed again before the caller returns: the next handshake with
// that credential is refused.
func (l *List) Watch(st store.Store) store.Store { return accessStore{Store: st, l: l} }

type accessStore struct {
	store.Store
	l *List
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
		return fn(accessTx{Tx: tx, now: s.l.now, changed: &changed})
	})
	if err == nil && changed {
		if rerr := s.l.Refresh(context.WithoutCancel(ctx), s.Store); rerr != nil {
			s.l.log.LogAttrs(ctx, slog.LevelError, "ra access CRL refresh failed (the per-request check still refuses the credential)",
				slog.String("error", rerr.Error()))
		}
	}
	return err
}

// Refresh reads the revoked credentials from st and, if the list changed
// or the CRL is getting old, signs a new access CRL. Officers removed
// before the list was kept count by their current serial.
func (l *List) Refresh(ctx context.Context, st store.Store) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	revoked := map[string]ownpki.RevokedCredential{}
	owners := map[string]string{}
	err := st.View(ctx, func(tx store.Tx) error {
		recs, err := tx.ListRecords(kindAccessRevoked, "", 0)
		if err != nil {
			return err
		}
		for _, r := range recs {
			var v accessRevoked
			if err := json.Unmarshal(r.Value, &v); err != nil {
				return fmt.Errorf("%w: record %s/%s: %v", raerr.ErrInternal, kindAccessRevoked, r.ID, err)
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
	now := l.now()
	old := l.cur.Load()
	if old != nil && old.digest == digest && now.Sub(old.signed) < resignAfter {
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
	der, err := l.access.CRL(list, number)
	if err != nil {
		return err
	}
	l.cur.Store(&snapshot{revoked: owners, digest: digest, crl: der, number: number, signed: now})
	if old == nil || old.digest != digest {
		l.log.LogAttrs(ctx, slog.LevelInfo, "ra access CRL signed", slog.Int64("number", number), slog.Int("revoked", len(serials)))
	}
	return nil
}

// CRL returns the current access CRL (DER), or nil before the first
// Refresh.
func (l *List) CRL() []byte {
	if c := l.cur.Load(); c != nil {
		return c.crl
	}
	return nil
}

// Revoked reports whether cert is on the current list, with the officer
// it was issued to. Before the first Refresh nothing is on it.
func (l *List) Revoked(cert *x509.Certificate) (officer, serial string, ok bool) {
	c := l.cur.Load()
	if c == nil || cert == nil {
		return "", "", false
	}
	serial = ownpki.SerialOf(cert)
	officer, ok = c.revoked[serial]
	return officer, serial, ok
}

// Run refreshes the list from st every interval (0: RefreshEvery) until
// ctx ends, so that a removal committed by another instance reaches this
// one's TLS layer.
func (l *List) Run(ctx context.Context, st store.Store, every time.Duration) {
	if every <= 0 {
		every = RefreshEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := l.Refresh(ctx, st); err != nil && ctx.Err() == nil {
			l.log.LogAttrs(ctx, slog.LevelError, "ra access CRL refresh", slog.String("error", err.Error()))
		}
	}
}
