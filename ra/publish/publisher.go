package publish

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/smki/smki/ra/internal/feedhub"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/store"
)

// Publisher builds and signs the bundle and the feed pages from a store.
// It is safe for concurrent use.
type Publisher struct {
	st     store.Store
	signer *ownpki.SystemSigner
	now    func() time.Time
	log    *slog.Logger
	maxAge time.Duration
	hub    *feedhub.Hub
	builds chan struct{} // SignedBundle's one build at a time
	// revoked is the revoked section of the last compact build, devices
	// the devices section of the last build.
	revoked revokedCache
	devices devicesCache
}

// New returns a Publisher over st that signs with signer (nil: nothing is
// published, every call fails with ownpki.ErrSigner), dates with now,
// writes maxAge into bundles and holds feed requests in hub.
func New(st store.Store, signer *ownpki.SystemSigner, now func() time.Time, log *slog.Logger, maxAge time.Duration, hub *feedhub.Hub) *Publisher {
	return &Publisher{st: st, signer: signer, now: now, log: log, maxAge: maxAge, hub: hub, builds: make(chan struct{}, 1)}
}

// Ready is nil if the Publisher has a system signer, else ownpki.ErrSigner.
func (p *Publisher) Ready() error {
	if p.signer == nil {
		return fmt.Errorf("%w: no system signer configured; the bundle and the feed are not published", ownpki.ErrSigner)
	}
	return nil
}
