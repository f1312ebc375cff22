package verifier

import (
	"crypto/sha256"
	"time"

	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/verifier/xmldsig"
)

// signer resolves and checks the signer certificate (step 4 of Verify).
//
// Resolution: X509IssuerSerial is looked up in the repository (bundle
// certificates, configured CAs and Options.Certificates). Only when the
// repository does not know it may a KeyInfo X509Certificate stand in, and
// then only if it matches the IssuerSerial (when one is given) and passes
// the same chain checks: arriving with the message earns it nothing.
// Passing results are cached by leaf fingerprint for this generation.
func (v *Verifier) signer(st *state, ki xmldsig.KeyInfo, at time.Time) (*chainResult, Decision, bool) {
	var candidates []repoEntry
	if is := ki.IssuerSerial; is != nil {
		var found bool
		if candidates, found = st.pol.written.lookup(is.IssuerName, is.Serial); !found {
			k, err := serialKey(is)
			if err != nil {
				return nil, reject(CodeCERT, "KeyInfo X509IssuerName %q: %v", is.IssuerName, err), false
			}
			candidates = st.pol.repo[k]
			if len(candidates) == 0 {
				candidates = fromKeyInfo(ki, &k)
			}
		}
	} else {
		candidates = fromKeyInfo(ki, nil)
	}
	if len(candidates) == 0 {
		return nil, reject(CodeCERT, "signer certificate unknown: not in the repository"), false
	}
	if len(candidates) > 1 {
		return nil, reject(CodeCERT, "signer certificate ambiguous: %d certificates share issuer and serial", len(candidates)), false
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
			return nil, reject(CodeCERT, "signer chain not valid at %s", at.UTC().Format(time.RFC3339)), false
		}
		return res, Decision{}, true
	}
	res, err := checkSigner(e.cert, v.ta, st.pol.inter, at)
	if err != nil {
		return nil, reject(CodeCERT, "%v", err), false
	}
	st.cache.Store(key, res)
	return res, Decision{}, true
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
