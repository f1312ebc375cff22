// Package ra owns every decision about who may have what: parties, their
// users and User Roles, officers, the role -> certificate-profile
// eligibility matrix, SoLR events (declaration, four-eyes approval, the
// failed Supplier's revocation, now or by its scheduler), ADT files, the
// device registry, the SC allow-list and the audit log. Each decision is
// one transaction with its audit record (Service.change, Service.read);
// it calls ca/ to issue and revoke and never signs certificates. Who may
// do what is one table, ra/authz; the SoLR workflow and its scheduler are
// ra/solr and the device registry, ADT files and allow-lists are
// ra/registry; every step of theirs runs in such a transaction, bound to
// the authenticated officer (session.go), behind ra.Service's entry points.
//
// It must not know about transports: no net/http, no wire bodies, no
// status codes. What it leaves to packages below it, each of which
// decides nothing:
//   - ra/raerr: the stable error codes (CodeOf) and transport-free
//     classes (ClassOf) every RA error carries;
//   - ra/records: how its records are kept in the store;
//   - ra/eligibility: the role -> profile matrix and the CSR subject a
//     request must carry (ra asks it on every issuing path);
//   - ra/accessguard: the access CRL of retired officer credentials and
//     the coalesced audit of refused ones (ra says who is active);
//   - ra/publish: building and signing the bundle and revocation feed it
//     exports to verifiers (in the format of package bundle), after ra
//     has authorised the reader;
//   - ra/ownpki: the RA's own access CA and system signer;
//   - ra/adtfile, ra/devicefile: the ADT and device file formats (ra
//     decides what a parsed file may change).
//
// Above it, ra/raserver serves it over HTTPS, raclient calls that server,
// and ra/raapi is the wire format between the two.
package ra
