// Package ra owns every decision about who may have what: parties, their
// users and User Roles, officers, the role -> certificate-profile
// eligibility matrix, SoLR events (declaration, four-eyes approval, the
// failed Supplier's revocation, now or by its scheduler), ADT files, the
// device registry, the SC allow-list, the audit log, and the signed policy
// bundle it exports to verifiers. It calls ca/ to issue and revoke; it
// never signs certificates.
package ra
