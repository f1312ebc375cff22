// Package bundle is the contract between the RA and the verifiers: the
// signed policy bundle the RA exports (docs/bundle.md), the signed pages of
// its revocation feed, and the envelope both travel in (a raw ECDSA P-256
// signature by an OU=89 dSPXmlSign certificate chaining to the SMKI root).
// It owns the wire format and its invariants (Validate), sealing (Sign,
// SignFeedPage) and opening (Open, OpenFeedPage: size cap, format, signer
// chain, signature, strict decoding), the shared vocabulary (users,
// parties, SoLR events and their one state type SoLRState, ADT scopes,
// devices, revocations, the audit checkpoint AuditHead), and, in
// bundle/policy, the DUIS eligibility matrix that roles without an
// allow-list in the bundle fall back to.
//
// It owns nothing of either side: no decision of the RA (who may have
// what, when a SoLR event changes state) and none of the verifier (whether
// a Service Request passes). It must import neither ra nor verifier, nor
// any server package (store, ca), so that a verifier can read the contract
// without linking the RA. Changing a field here changes a public format:
// change docs/bundle.md in the same commit and keep old bundles readable.
package bundle
