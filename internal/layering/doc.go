// Package layering holds no code: its test keeps the import rules that
// docs/architecture.md draws (the RA never imports the verifier, the
// contract package imports neither side, the decisions import no HTTP, the
// Go client never links the server), so that a change breaking one fails
// a test rather than waiting for a reader to notice.
package layering
