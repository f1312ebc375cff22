// Package duis reads a DUIS Service Request out of the element tree that
// xmldsig.Document.Verify returns (so only signed content is ever read):
// the Header (RequestID, CommandVariant, Service Reference and Variant),
// the Body, and what the verifier needs from the body to judge content:
// the payment mode of an SR 1.6 UpdatePaymentMode, the GBCS payload of a
// SignedPreCommand (Command Variants 5-7), and the execution date-time.
//
// It checks structure strictly against DUIS schema V5.4 for the parts it
// reads (order, cardinality, value syntax) and fails with ErrMalformed
// (which is xmldsig.ErrMalformed, reason code MALFORMED). It does not own
// eligibility (which role may send which Service Reference Variant), GBCS
// parsing, replay state or signatures.
package duis
