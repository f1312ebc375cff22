// Package migrate moves a store's whole content between engines (bbolt
// and PostgreSQL, either way) and proves the move lost nothing.
//
// Copy reads the source in one read transaction and writes an empty
// destination in one write transaction, through the store.Exporter and
// store.Importer capabilities every engine's Tx has, so revocation
// sequence numbers and audit hashes arrive exactly as they were and the
// audit chain still verifies. Digest summarises a store as a count and a
// content hash per record type, independent of the engine; Compare names
// every type whose summary differs.
//
// It owns no policy and no format of its own: what it copies is
// store.Store's data model.
package migrate
