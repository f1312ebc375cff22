// Package verifier decides whether a signed DUIS Service Request may pass:
// XML signature, signer chain and revocation, role binding, the role's
// allowed Service Requests, the content (SR 1.6 to Credit only), SoLR scope
// and thresholds, and replay; then it says where to route, or why not
// (Verify, with the reason codes of docs/verifier.md). It also routes
// DCC Alerts during a SoLR event (RouteAlert).
//
// It reads the signed policy bundle and revocation feed, whose format is
// package bundle's (the RA<->verifier contract, docs/bundle.md), and owns
// the certificate repository and chain cache, the replay
// and ADT counters and their durable state file (StateFile: group-fsynced,
// compacted), the sidecar's HTTP API (Handler, InstrumentedHandler) and
// its Prometheus metrics (Metrics), and the client that follows the RA
// (Follower). Its inputs are read from a trust directory by LoadTrust
// (docs/verifier.md, "The trust directory"; WriteTrust writes one), and its
// readiness (NotReady, /readyz) says why it cannot accept.
//
// It depends on no server code (ra, ca, store). Its inputs are trust
// anchors, a signed policy bundle and revocation data, and it fails closed:
// stale data answers STALE, an unverifiable CRL or bundle is an error, and
// a replay counter that cannot be persisted rejects the request. XML
// parsing and signatures are verifier/xmldsig's, DUIS fields
// verifier/duis's, GBCS verifier/gbcs's and the DUIS eligibility matrix
// bundle/policy's (the verifier evaluates it: Options.Eligibility).
package verifier
