package verifier

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/smki/smki/internal/crlfresh"
	"github.com/smki/smki/verifier/duis"
	"github.com/smki/smki/verifier/xmldsig"
)

// Verify checks one signed DUIS Service Request as of at (the request's
// time: certificate validity, SoLR windows, ADT windows and revocation
// times are judged at at; data freshness is judged at the Clock). at must
// be when the request arrived by the caller's clock, never a time read
// from the request: a sender could date it before its certificate's
// revocation. The
// checks run in this order and the first failure decides (docs/verifier.md,
// "Checks, in order"):
//
//  1. MALFORMED: size, depth and other limits, well-formedness, no DTD
//  2. SIG: signature shape and algorithm policy
//  3. STALE: bundle or revocation data older than the maximum age
//  4. CERT: signer found by IssuerSerial in the repository (a KeyInfo
//     certificate is only chained, never trusted for arriving), chains to a
//     root, valid at at, digitalSignature, OU=87, role binding
//  5. REVOKED: signer or its CA revoked at or before at (CRLs, bundle, feed),
//     or the signer's party revoked as a whole (bundle.PartyRevocation)
//  6. SIG: the signature itself; MALFORMED: the signed request's fields
//  7. E1: originator = certificate's x500UniqueIdentifier, the user is
//     known and active, and its role is in the certificate's role binding;
//     PARTY: the user's party is not suspended, failed or closed
//  8. E2: the role's allow-list; the content (SC: SR 1.6 to Credit only)
//  9. E4: the role's device rule (the registrant in the role's capacity;
//     SC: SoLR scope); AD1: anomaly detection (SC only)
//  10. REPLAY: counter greater than the last accepted for the originator
//
// Accept routes to the target device. Only an accepted request advances the
// replay counter and the ADT count.
func (v *Verifier) Verify(data []byte, at time.Time) Decision {
	if !v.built() {
		return notBuilt()
	}
	d := v.verify(data, at)
	v.logDecision(d)
	return d
}

// logDecision writes the decision log's line for d (docs/verifier.md,
// "Decision log"): at INFO, so that an operator has a record of what was
// routed, and nothing of the request beyond its RequestID and SRV.
// Guarded and built from a fixed array of attributes: an embedder
// without a logger pays nothing, and one with a logger one record.
func (v *Verifier) logDecision(d Decision) {
	ctx := context.Background()
	if !v.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	if !d.Accepted() {
		v.log.LogAttrs(ctx, slog.LevelInfo, "verify", slog.String("decision", d.Decision),
			slog.String("code", d.Code), slog.String("reason", d.Reason))
		return
	}
	var a [6]slog.Attr
	n := 0
	a[n], n = slog.String("decision", d.Decision), n+1
	if r := d.Request; r != nil {
		a[n], a[n+1], n = slog.String("request_id", r.ID.String()), slog.String("srv", r.ServiceReferenceVariant), n+2
	}
	a[n], a[n+1], n = slog.String("role", string(d.role)), slog.String("route", d.Route), n+2
	if len(d.Warnings) > 0 {
		a[n], n = slog.Any("warnings", d.Warnings), n+1
	}
	v.log.LogAttrs(ctx, slog.LevelInfo, "verify", a[:n]...)
}

func (v *Verifier) verify(data []byte, at time.Time) Decision {
	st := v.cur.Load()

	doc, err := xmldsig.Parse(data, v.limits)
	if err != nil {
		if errors.Is(err, xmldsig.ErrSignature) {
			return reject(CodeSIG, "%s; %s", detail(err), nextSig)
		}
		return reject(CodeMALFORMED, "%s; %s", detail(err), nextMalformed)
	}
	// Nothing of doc outlives this call but the element tree and the
	// certificate DER taken from it, which Release leaves alone.
	defer doc.Release()

	if d, stale := v.stale(st); stale {
		return d
	}

	res, d, ok := v.signer(st, doc.KeyInfo(), at)
	if !ok {
		return d
	}

	if when, revoked := st.rev.revokedAt(res.chain); revoked && !at.Before(when) {
		return reject(CodeREVOKED, "signer certificate (or its CA) revoked at %s; %s", when.UTC().Format(time.RFC3339), nextRevoked)
	}
	if r, covered := st.partyRevokedAt(res); covered && !at.Before(r.RevokedAt) {
		return reject(CodeREVOKED, "signer certificate revoked at %s with every certificate of party %s issued before %s; %s",
			r.RevokedAt.UTC().Format(time.RFC3339), r.Party, r.IssuedBefore.UTC().Format(time.RFC3339), nextRevoked)
	}

	root, _, err := doc.Verify(res.pub)
	if err != nil {
		if errors.Is(err, xmldsig.ErrMalformed) {
			return reject(CodeMALFORMED, "%s; %s", detail(err), nextMalformed)
		}
		return reject(CodeSIG, "%s; %s", detail(err), nextSig)
	}
	req, err := duis.FromElement(root)
	if err != nil {
		return reject(CodeMALFORMED, "%s; %s", detail(err), nextMalformed)
	}

	u, d, ok := v.checkUser(st, res, req)
	if !ok {
		return d
	}
	if d, ok := v.checkAllowed(st, u, req, at); !ok {
		return d
	}
	scope, d, ok := v.checkDevice(st, u, req, at)
	if !ok {
		return d
	}
	return v.commit(u, req, &scope, at)
}

// stale fails closed when the data the decision rests on is too old, or
// claims to come from the future (dated more than clockSkew after now: a
// clock problem on one side or the other); the bundle and the revocation
// data alike.
func (v *Verifier) stale(st *state) (Decision, bool) {
	now := v.clock()
	b := st.pol.bundle
	maxAge := v.effectiveMaxAge(b)
	if age := now.Sub(b.IssuedAt); age > maxAge {
		return reject(CodeSTALE, "bundle issued %s is %s old, max %s; %s", b.IssuedAt.UTC().Format(time.RFC3339),
			age.Round(time.Second), maxAge, nextStale), true
	}
	if fromTheFuture(b.IssuedAt, now) {
		return reject(CodeSTALE, "bundle issued %s is in the future; %s", b.IssuedAt.UTC().Format(time.RFC3339), nextClock), true
	}
	if age := now.Sub(st.rev.freshAt); age > maxAge {
		return reject(CodeSTALE, "revocation data is %s old, max %s; %s", age.Round(time.Second), maxAge, nextStale), true
	}
	if fromTheFuture(st.rev.freshAt, now) {
		return reject(CodeSTALE, "revocation data issued %s is in the future; %s", st.rev.freshAt.UTC().Format(time.RFC3339), nextClock), true
	}
	if !st.rev.crlNext.IsZero() && crlfresh.PastNextUpdate(st.rev.crlNext, now) {
		return reject(CodeSTALE, "the %s expired at %s (nextUpdate); %s", st.rev.expiredCRL(now), st.rev.crlNext.UTC().Format(time.RFC3339),
			"the verifier's operator must install the CA's current CRLs in the trust directory (smki trust export, then SIGHUP the sidecar: following the RA does not replace them); then send the request again"), true
	}
	return Decision{}, false
}
