// Package ra owns every decision about who may have what: parties, their
// users and User Roles, officers, the role -> certificate-profile
// eligibility matrix, SoLR events (declaration, four-eyes approval, the
// failed Supplier's revocation, now or by its scheduler), ADT files, the
// device registry, the SC allow-list, the audit log, and the signed policy
// bundle and revocation feed it exports to verifiers (in the format of
// package bundle). It calls ca/ to issue and revoke; it never signs
// certificates.
//
// It must not know about transports: no net/http, no wire bodies, no
// status codes. Its errors carry a stable code (CodeOf) and a transport-
// free Class (ClassOf); ra/raserver serves it over HTTPS, raclient calls
// that server, ra/raapi is the wire format between the two. The ADT and
// device file formats are ra/adtfile and ra/devicefile: ra decides what a
// parsed file may change.
package ra
