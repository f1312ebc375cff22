// Package storetest is the conformance suite every store engine must
// pass: Run exercises each store.Tx method, every error code, atomicity
// of Update, read-only View, the revocation and audit sequences under
// concurrent writers, and the audit chain.
//
// It owns the behaviour that makes an engine interchangeable, not engine
// details: tampering with stored bytes, file locks and connection setup
// are tested beside each engine.
package storetest
