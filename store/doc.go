// Package store owns smki's durable state behind one interface: issued
// certificates and their issuance intents, revocations with their monotonic
// sequence, CRL state, CA metadata, parties, users, officers and the
// hash-chained audit log.
//
// A Store runs every state change as one transaction (Update) so that a
// change and its audit record commit together or not at all. Engines live in
// sub-packages (store/bolt, embedded; store/postgres, for several instances)
// and must pass the conformance suite in store/storetest.
//
// The store enforces uniqueness (serials, key hashes, IDs) and ordering
// (revocation and audit sequences); it makes no policy decisions.
package store
