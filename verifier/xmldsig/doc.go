// Package xmldsig implements the strict DUIS profile of XML Signature that
// smki signs and verifies: one enveloped ds:Signature, last child of the
// document element, ecdsa-sha256 with a raw 64-byte r||s value, sha256
// digests, exclusive c14n for SignedInfo, and one Reference URI="" whose
// transforms are the enveloped-signature transform, optionally followed by
// exclusive c14n. KeyInfo carries X509Data (X509IssuerSerial and/or
// X509Certificate) only.
//
// It owns: a bounded, allocation-light XML scanner (no DTD, no comments, no
// processing instructions, no entity references other than the five
// predefined ones and character references), Canonical XML 1.0 and
// Exclusive Canonical XML 1.0 (both without comments) over the scanned
// tokens, the signature shape and algorithm policy, ECDSA P-256 verification
// and signing (Sign), and the element tree handed to callers (Element).
//
// Digest form, as DCC signs it: with only the enveloped-signature transform
// the Reference's node-set is turned into octets with inclusive Canonical
// XML 1.0 (XMLDSig core, 4.4.3.2), so the digest covers every namespace
// declaration of the document element; DCC's signed responses
// (conformance/duis/responses) digest exactly that. With an explicit
// exc-c14n transform after it, the digest is over exclusive c14n.
//
// It does not own: finding or trusting the signer's certificate (the
// verifier resolves KeyInfo against its repository and chains it), the
// meaning of the document (package duis), or replay protection (keyed on the
// signed RequestID, never on signature bytes, because ECDSA signatures are
// malleable and low-S is not required).
//
// One pass, no second parse: Parse's scanner writes the inclusive canonical
// form (with the signature subtree cut out) while it tokenises, and Verify
// builds the element tree from those same tokens, handing it out only after
// the digest and the signature both checked out. What the caller reads is
// what was signed. Parse reads the caller's bytes in place, without a copy
// (they must stay unchanged until Release); the tree Verify hands out holds
// its own copies of the few strings it needs, so nothing handed out refers
// to the input. encoding/xml is not used anywhere (it costs more than the
// whole budget); goxmldsig, etree, xmllint and xmlsec1 are test oracles only.
//
// Sign is the inverse for tests, the CLI and testpki: it strips a
// placeholder signature and comments, signs, and checks its own output with
// Parse and Verify. IssuerName gives the X509IssuerName form DCC and xmlsec1
// write; names read back are compared by the verifier's normalised DN key.
package xmldsig
