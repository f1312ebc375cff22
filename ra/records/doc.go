// Package records owns how the RA keeps its own records in the store's
// generic record space and meta keys: the record kinds and their JSON (SoLR
// events, scheduled jobs, ADT files, allow-list overrides, party-wide
// revocations, officer credential custody, certificates a renewal or
// rekey replaced), the device registry's binary layout, the party-status
// sequence, a certificate as the API shows it
// (CertInfo), the revocation reasons an RA may use, and the small reads
// every part of the RA shares (a role's effective allow-list, a party's
// supplier users and good certificates, an officer's custody line, the
// audit head).
//
// It decides nothing: no authorisation, no audit records, no checks of
// what a change may do. ra, ra/solr and ra/registry write these records
// inside ra's audited transactions; ra/publish reads them to build the
// bundle and the feed.
// It must not import ra or any package above it.
package records
