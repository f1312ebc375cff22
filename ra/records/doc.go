// Package records owns how the RA keeps its own records in the store's
// generic record space and meta keys: the record kinds and their JSON (SoLR
// events, scheduled jobs, ADT files, allow-list overrides, party-wide
// revocations), the device registry's binary layout, the party-status
// sequence, and the small reads every part of the RA shares (a role's
// effective allow-list, a party's supplier users, the audit head).
//
// It decides nothing: no authorisation, no audit records, no checks of
// what a change may do. ra writes these records inside its audited
// transactions; ra/publish reads them to build the bundle and the feed.
// It must not import ra or any package above it.
package records
