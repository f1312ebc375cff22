// Package ownpki owns the RA's own keys and certificates, which are not
// SMKI certificates: the access CA (its P-256 root, the officers' mTLS
// client credentials, the RA server's TLS certificate, the credential a
// CLI writes to disk) and the system signer (the RA's OU=89 key that
// signs the policy bundle and revocation feed). Both keys live in the CA's
// key backend (Keys); plaintext keys left by older versions are migrated
// or refused.
//
// It decides nothing about who may hold a credential (package ra does,
// and calls IssueOfficer/CertifyOfficer only after deciding), touches no
// store and knows no transport.
package ownpki
