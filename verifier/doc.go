// Package verifier decides whether a signed DUIS Service Request may pass:
// XML signature, signer chain and revocation, role binding, the role's
// allowed Service Requests, the content (SR 1.6 to Credit only), SoLR scope
// and thresholds, and replay; then it says where to route, or why not.
//
// It depends on no server code (ra, ca, store). Its inputs are trust
// anchors, a signed policy bundle and revocation data, and it fails closed.
package verifier
