package ra

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"
)

// The access CA's revocation list of retired officer credentials (issue
// 12 finding 8) is ra/accessguard's List: fed in the transaction that
// removes an officer or replaces its credential (the Service's store is
// wrapped by List.Watch), signed as a CRL, checked at the handshake.

// RefreshAccess reads the revoked credentials from the store and, if the
// list changed or the CRL is getting old, signs a new access CRL.
// Officers removed before the list was kept count by their current
// serial.
func (s *Service) RefreshAccess(ctx context.Context) error { return s.acl.Refresh(ctx, s.st) }

// RunAccessRefresh refreshes the access CRL every interval (0: the
// default, 10 s) until ctx ends, so that a removal committed by another
// instance reaches this one's TLS layer.
func (s *Service) RunAccessRefresh(ctx context.Context, every time.Duration) {
	s.acl.Run(ctx, s.st, every)
}

// AccessCRL returns the current access CRL (DER), or nil before the first
// RefreshAccess.
func (s *Service) AccessCRL() []byte { return s.acl.CRL() }

// CheckAccess is the TLS layer's check of an officer credential presented
// in a handshake (tls.Config.VerifyConnection): a credential on the access
// CRL is refused with ErrOfficerInactive, and the refusal is audited
// through the refusal coalescer (one record per credential and window,
// with a count). Before the first refresh nothing is refused here; the
// per-request check still applies.
func (s *Service) CheckAccess(ctx context.Context, cert *x509.Certificate) error {
	id, serial, ok := s.acl.Revoked(cert)
	if !ok {
		return nil
	}
	err := fmt.Errorf("%w: officer %s: credential %s is on the access CA's revocation list (the officer was removed or the credential superseded); refused at TLS, use the officer's current credential",
		ErrOfficerInactive, id, serial)
	s.refusedCredential(ctx, "unauthenticated:"+cert.Subject.CommonName, "serial:"+serial, err)
	return err
}
