package check

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smki/smki/store"
)

// Serial checks that s is a non-empty lower-case hex serial (at most 40
// digits, RFC 5280's 20 octets), so that one serial has one spelling and
// ordering by key is ordering by serial string. Leading zeros are allowed:
// callers may hex-encode fixed-width random octets.
func Serial(s string) error {
	if s == "" {
		return fmt.Errorf("serial is empty: %w", store.ErrInvalid)
	}
	if len(s) > 40 {
		return fmt.Errorf("serial %q is longer than 20 octets: %w", s, store.ErrInvalid)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fmt.Errorf("serial %q is not lower-case hex: %w", s, store.ErrInvalid)
		}
	}
	return nil
}

// Key checks that an identifier used as (part of) an index key is
// non-empty and free of NUL, which engines use as a key separator.
func Key(what, v string) error {
	if v == "" {
		return fmt.Errorf("%s is empty: %w", what, store.ErrInvalid)
	}
	return OptionalKey(what, v)
}

// OptionalKey is Key for fields that may be empty.
func OptionalKey(what, v string) error {
	if strings.IndexByte(v, 0) >= 0 {
		return fmt.Errorf("%s %q contains NUL: %w", what, v, store.ErrInvalid)
	}
	return nil
}

// Intent checks an intent for CreateIntent and returns it normalised: an
// empty State becomes IntentOpen and CreatedAt is in UTC.
func Intent(in store.Intent) (store.Intent, error) {
	if err := Serial(in.Serial); err != nil {
		return in, err
	}
	if err := Key("intent issuer", in.Issuer); err != nil {
		return in, err
	}
	if err := OptionalKey("intent user ID", in.UserID); err != nil {
		return in, err
	}
	if in.State == "" {
		in.State = store.IntentOpen
	}
	if in.State != store.IntentOpen {
		return in, fmt.Errorf("new intent %s has state %q, want %q: %w", in.Serial, in.State, store.IntentOpen, store.ErrInvalid)
	}
	if in.CreatedAt.IsZero() {
		return in, fmt.Errorf("intent %s has no CreatedAt: %w", in.Serial, store.ErrInvalid)
	}
	in.CreatedAt = in.CreatedAt.UTC()
	return in, nil
}

// IntentState checks a state for SetIntentState.
func IntentState(s store.IntentState) error {
	switch s {
	case store.IntentOpen, store.IntentCompleted, store.IntentFailed:
		return nil
	}
	return fmt.Errorf("unknown intent state %q: %w", s, store.ErrInvalid)
}

// Certificate checks a certificate for PutCertificate and returns it
// normalised: an empty Status becomes StatusGood and times are in UTC. A
// certificate cannot be inserted already revoked, because every revoked
// certificate must have its entry in the revocation sequence: use Revoke.
func Certificate(c store.Certificate) (store.Certificate, error) {
	if err := Serial(c.Serial); err != nil {
		return c, err
	}
	if err := Key("certificate issuer", c.Issuer); err != nil {
		return c, err
	}
	for _, f := range []struct{ what, v string }{
		{"certificate user ID", c.UserID},
		{"certificate party ID", c.PartyID},
		{"certificate key hash", c.KeyHash},
	} {
		if err := OptionalKey(f.what, f.v); err != nil {
			return c, err
		}
	}
	if c.Status == "" {
		c.Status = store.StatusGood
	}
	if c.Status != store.StatusGood {
		return c, fmt.Errorf("certificate %s inserted with status %q (use Revoke): %w", c.Serial, c.Status, store.ErrInvalid)
	}
	if !c.RevokedAt.IsZero() || c.Reason != 0 || c.RevocationSeq != 0 {
		return c, fmt.Errorf("certificate %s inserted with revocation fields set (use Revoke): %w", c.Serial, store.ErrInvalid)
	}
	if c.IssuanceSeq != 0 {
		return c, fmt.Errorf("certificate %s inserted with an issuance sequence number (the store assigns it): %w", c.Serial, store.ErrInvalid)
	}
	if len(c.DER) == 0 {
		return c, fmt.Errorf("certificate %s has no DER: %w", c.Serial, store.ErrInvalid)
	}
	c.NotBefore = c.NotBefore.UTC()
	c.NotAfter = c.NotAfter.UTC()
	c.IssuedAt = c.IssuedAt.UTC()
	c.RevokedAt = time.Time{}
	return c, nil
}

// Revocation checks Revoke's arguments: reason is an RFC 5280 CRLReason
// (0-10, 7 is unassigned) and at is set.
func Revocation(serial string, reason int, at time.Time) error {
	if err := Serial(serial); err != nil {
		return err
	}
	if reason < 0 || reason > 10 || reason == 7 {
		return fmt.Errorf("revocation of %s: reason %d is not an RFC 5280 CRLReason: %w", serial, reason, store.ErrInvalid)
	}
	if at.IsZero() {
		return fmt.Errorf("revocation of %s: no time: %w", serial, store.ErrInvalid)
	}
	return nil
}

// Revocations checks RevokeMany's arguments as Revocation checks each
// serial's. The error wraps a *store.SerialError naming the first serial
// that fails, so a bad list is refused before anything is written.
func Revocations(serials []string, reason int, at time.Time) error {
	for _, s := range serials {
		if err := Revocation(s, reason, at); err != nil {
			return &store.SerialError{Serial: s, Err: err}
		}
	}
	return nil
}

// CRL checks a CRL for PutCRL and returns it with times in UTC.
func CRL(c store.CRL) (store.CRL, error) {
	if err := Key("CRL name", c.Name); err != nil {
		return c, err
	}
	if len(c.DER) == 0 {
		return c, fmt.Errorf("CRL %s has no DER: %w", c.Name, store.ErrInvalid)
	}
	c.ThisUpdate = c.ThisUpdate.UTC()
	c.NextUpdate = c.NextUpdate.UTC()
	return c, nil
}

// Party checks a party and returns it with CreatedAt in UTC.
func Party(p store.Party) (store.Party, error) {
	if err := Key("party ID", p.ID); err != nil {
		return p, err
	}
	p.CreatedAt = p.CreatedAt.UTC()
	return p, nil
}

// User checks a user and returns it with CreatedAt in UTC.
func User(u store.User) (store.User, error) {
	if err := Key("user ID", u.ID); err != nil {
		return u, err
	}
	if err := OptionalKey("user party ID", u.PartyID); err != nil {
		return u, err
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return u, nil
}

// Officer checks an officer and returns it with CreatedAt in UTC.
func Officer(o store.Officer) (store.Officer, error) {
	if err := Key("officer ID", o.ID); err != nil {
		return o, err
	}
	if err := OptionalKey("officer party ID", o.PartyID); err != nil {
		return o, err
	}
	o.CreatedAt = o.CreatedAt.UTC()
	o.CertNotAfter = o.CertNotAfter.UTC()
	return o, nil
}

// Audit checks an entry for AppendAudit and returns it with Time in UTC,
// its text fields as AuditText makes them, and the engine-assigned fields
// cleared: what it returns is what is stored, read back and hashed.
func Audit(e store.AuditEntry) (store.AuditEntry, error) {
	if e.Time.IsZero() {
		return e, fmt.Errorf("audit entry %q has no time: %w", e.Action, store.ErrInvalid)
	}
	if e.Action == "" {
		return e, fmt.Errorf("audit entry has no action: %w", store.ErrInvalid)
	}
	e.Time = e.Time.UTC()
	e.Actor, e.Action, e.Subject = AuditText(e.Actor), AuditText(e.Action), AuditText(e.Subject)
	e.Result, e.Detail = AuditText(e.Result), AuditText(e.Detail)
	e.Seq, e.PrevHash, e.Hash = 0, nil, nil
	return e, nil
}

// Limit checks a list limit (0 means no limit).
func Limit(n int) error {
	if n < 0 {
		return fmt.Errorf("negative limit %d: %w", n, store.ErrInvalid)
	}
	return nil
}

// AuditText is s as an audit entry stores it: UTF-8 text with each byte
// that is not part of valid UTF-8, and each NUL, replaced by U+FFFD. An
// audit field may carry what a caller sent (a path segment, a name): the
// entry must still be appended, and it must read back byte for byte as it
// was hashed. PostgreSQL's text refuses such bytes and JSON (bbolt's
// encoding) rewrites them, so either would break the chain or lose the
// entry.
func AuditText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == 0 || (r == utf8.RuneError && n == 1) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
		i += n
	}
	return b.String()
}
