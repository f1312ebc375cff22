// Package bolt is smki's embedded store engine: one bbolt file holding
// every record of package store, for a single `smki serve` process.
//
// It owns the on-disk layout (buckets, key encodings, secondary indexes)
// and nothing else; the semantics it implements are store.Store's, and it
// passes store/storetest. bbolt gives one writer at a time and fsyncs every
// commit, so Update never needs a retry and the revocation and audit
// sequences are gap-free in commit order by construction. A second process
// opening the same file fails fast with ErrLocked rather than waiting.
//
// Records are JSON with times in UTC at nanosecond precision, so the audit
// chain (store.HashAudit) verifies after a round trip; certificates and
// revocations, written 100,000 at a time by a bulk revocation, are in a
// compact binary encoding instead (codec.go), and read in either.
// Secondary index keys are value NUL serial, so a prefix scan returns
// serials in order; the issuer and the status good are not indexed
// (certIndexes), and Open drops them from a file that has them
// (upgrade.go).
package bolt
