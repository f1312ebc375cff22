// Package eligibility owns two rules of the RA that callers outside it
// need too: THE User Role -> certificate profile matrix (Eligible: which
// certificates a role may hold) and the subject a CSR for one must carry
// (NewCSR builds it, CheckCSRSubject checks it with the CA's one subject
// rule, ca.CheckCSRSubject). Clients build CSRs with it; ra asks it on
// every issuing path (enrol, renew, re-key).
//
// It holds no state and writes nothing: who may ask for a certificate,
// and whether the user is active, are ra's decisions. It must not import
// ra or any package above it.
package eligibility
