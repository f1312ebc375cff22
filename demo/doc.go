// Package demo runs the Supplier-failure night end to end (`smki demo`):
// it starts a real `smki serve --dev` as a child process of the same
// binary on loopback, drives the RA through its HTTP client and the smki
// CLI (set-up, enrolment, an Authority instruction with four-eyes
// approval, the failed Supplier's scheduled revocation), follows the RA's
// signed bundle and revocation feed with a verifier, and sends a stream of
// real signed DUIS Service Requests through it, checking that each one is
// accepted or refused with the expected code.
//
// It owns the demo's script, its step-by-step report (plain, a live
// terminal display, or JSON); its requests come from testpki's DUIS request
// builder, which needs no conformance data, so the demo runs on a fresh
// clone. It
// decides nothing itself: every accept or refusal it shows is made by ra,
// ca or verifier, and the demo only compares it with what MP134B requires.
// It does not own the server, the CLI verbs or the verifier.
package demo
