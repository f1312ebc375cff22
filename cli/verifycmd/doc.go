// Package verifycmd holds the verbs on the verifier's side of the RA:
// smki sign and verify (one DUIS Service Request), verifier serve (the
// sidecar, following the RA's bundle and revocation feed), trust export
// (the trust directory a verifier needs), bundle export and alert route.
// It owns their flags, the sidecar's listening and not-ready handling and
// their output; whether a request passes is package verifier's decision.
package verifycmd
