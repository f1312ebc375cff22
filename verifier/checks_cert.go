package verifier

import (
	"crypto/sha256"
	"errors"
	"time"

	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/verifier/xmldsig"
)

// signer resolves and checks the signer certificate (step 4 of Verify).
//
// Resolution: X509IssuerSerial is looked up in the repository (bundle
// certificates, configured CAs and Options.Certificates). Only when the
// repository does not know it may a certificate fetched earlier from
// Options.Source, a KeyInfo X509Certificate, or one fetched now from the
// Source stand in (unbundled), and then only if it matches the
// IssuerSerial and passes the same chain checks: arriving with the message
// or from the Source earns it nothing.
// Passing results are cached by leaf fingerprint for this generation.
func (v *Verifier) signer(st *state, ki xmldsig.KeyInfo, at time.Time) (*chainResult, Decision, bool) {
	var candidates []repoEntry
	if is := ki.IssuerSerial; is != nil {
		var found bool
		if candidates, found = st.pol.written.lookup(is.IssuerName, is.Serial); !found {
			k, err := serialKey(is)
			if err != nil {
				return nil, reject(CodeCERT, "KeyInfo X509IssuerName %q is not a distinguished name (%s); "+
					"name the signer certificate's issuer as RFC 4514 gives it, for example CN=Z1,OU=07", is.IssuerName, err), false
			}
			candidates = st.pol.repo[k]
			if len(candidates) == 0 {
				var d Decision
				if candidates, d = v.unbundled(st, ki, k, is); d.Decision != "" {
					return nil, d, false
				}
			}
		}
	} else {
		candidates = fromKeyInfo(ki, nil)
	}
	if len(candidates) == 0 {
		return nil, reject(CodeCERT, "signer certificate unknown: not in the repository; %s", nextCertUnknown), false
	}
	if len(candidates) > 1 {
		return nil, reject(CodeCERT, "signer certificate ambiguous: %d certificates share issuer and serial; "+
			"the RA must be told: a CA issued one serial twice", len(candidates)), false
	}
	e := candidates[0]
	// The cache key: a repository certificate by its (per-generation
	// stable) pointer, which costs no allocation; one from KeyInfo, parsed
	// anew per request, by its fingerprint.
	var key any = e.cert
	if e.fromMsg {
		key = e.fp
	}
	if r, ok := st.cache.Load(key); ok {
		res := r.(*chainResult)
		if !res.validAt(at) {
			return nil, reject(CodeCERT, "signer chain not valid at %s; %s", at.UTC().Format(time.RFC3339), nextCertInvalid), false
		}
		return res, Decision{}, true
	}
	res, err := checkSigner(e.cert, v.ta, st.pol.inter, at)
	if err != nil {
		return nil, reject(CodeCERT, "%v; %s", err, nextCertInvalid), false
	}
	st.cache.Store(key, res)
	return res, Decision{}, true
}

// unbundled resolves an IssuerSerial the repository does not hold: a
// certificate fetched earlier from the Source, else a KeyInfo
// X509Certificate matching it, else one fetched now from the Source. No
// certificate is a CERT refusal (d), never an accept.
func (v *Verifier) unbundled(st *state, ki xmldsig.KeyInfo, k certKey, is *xmldsig.IssuerSerial) ([]repoEntry, Decision) {
	if v.certs != nil {
		if e, ok := v.certs.cached(k); ok {
			return []repoEntry{e}, Decision{}
		}
	}
	c := fromKeyInfo(ki, &k)
	if len(c) > 0 {
		return c, Decision{}
	}
	if v.certs == nil {
		if len(st.pol.bundle.Certificates) == 0 {
			return nil, reject(CodeCERT, "signer certificate unknown: the bundle carries no certificates (the compact form) and this verifier looks none up; "+
				"the verifier's operator must verify with a bundle that embeds them (smki trust export) or follow the RA (smki verifier serve --ra)")
		}
		return nil, Decision{}
	}
	e, err := v.certs.get(k, is.SerialNumber())
	if err != nil {
		return nil, v.lookupFailed(err)
	}
	return []repoEntry{e}, Decision{}
}

// lookupFailed is the CERT refusal of a signer the certificate lookup
// (Options.Source) did not give: its reason in smki's words (what a
// lookupError says), the source's own error only in the log.
func (v *Verifier) lookupFailed(err error) Decision {
	msg, later := "the certificate lookup failed", true
	var le *lookupError
	if errors.As(err, &le) {
		msg, later = le.msg, le.later
	}
	next := nextCertUnknown
	if later {
		v.log.Warn("signer certificate lookup failed", "err", err.Error())
		next = "send the request again later; if this goes on, the verifier's operator must check that the RA's repository answers (the verifier's log says why it did not)"
	}
	return reject(CodeCERT, "signer certificate unknown: not in the repository, and %s; %s", msg, next)
}

// fromKeyInfo parses the first KeyInfo X509Certificate (the signer by
// XMLDSig convention); when want is set it must match it.
func fromKeyInfo(ki xmldsig.KeyInfo, want *certKey) []repoEntry {
	if len(ki.Certificates) == 0 {
		return nil
	}
	c, err := dccx509.ParseCertificate(ki.Certificates[0])
	if err != nil {
		return nil
	}
	if want != nil && keyOf(c) != *want {
		return nil
	}
	return []repoEntry{{cert: c, fp: sha256.Sum256(c.Raw), fromMsg: true}}
}
