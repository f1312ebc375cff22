// Package auditcheck owns the offline check of the audit log against
// signed checkpoints (smki audit verify --checkpoint): it opens a policy
// bundle as a verifier would (bundle.Open, judged at the bundle's own
// issued_at), reads the audit_head it recorded, and checks that the store
// still holds that entry with that hash.
//
// It only reads: it decides nothing about officers or certificates, writes
// nothing but the store's seal of pending audit records, and knows no
// transport. The audit chain itself (VerifyAudit, WalkAudit) and the
// recording of audit_head in a bundle stay in package ra.
package auditcheck
