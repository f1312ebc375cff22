// Package server assembles the smki RA/CA server from a typed Config: it
// binds the listener, opens the store, the CA, the RA's access CA and
// system signer, starts the scheduled work (CRL refresh, intent
// reconciliation, SoLR jobs; led by one instance when several share a
// PostgreSQL store) and serves the RA API, the public CA endpoints and the
// one /healthz over HTTPS.
//
// It owns process assembly and its order (listen first, then write), the
// TLS configuration, the store spec (bbolt:PATH or postgres://URL) and
// scheduler leadership. It makes no decision of its own: who may do what is
// the RA's (package ra), how a certificate is signed is the CA's (package
// ca). It reads no flags or environment: package cli (or a test, or
// another binary) builds the Config and calls Open or Run.
package server
