// Package ra owns every decision about who may have what: parties, their
// users and User Roles, officers, the role -> certificate-profile
// eligibility matrix, SoLR events, ADT files and the audit log. It calls
// ca/ to issue and revoke; it never signs.
package ra
