// Package raerr owns the RA's refusals as values: the stable E_ codes
// every RA error wraps (ErrForbidden, ErrNotFound, ...), their transport-
// free Class, and CodeOf/ClassOf, which find the code of an error however
// it was wrapped, including the codes of the packages the RA calls (ca's,
// by value from ca/caerr, store, bundle) and those of the RA's own PKI,
// which it owns (ra/ownpki returns them). Codes are values: a message is never
// parsed.
//
// It decides nothing and knows no transport: ra and its sub-packages
// return these errors, ra/raserver maps a Class to an HTTP status, and
// raclient turns a code that came over the wire back into its value.
// Conceal pairs the refusal a caller is shown with the one that really
// happened, which only the RA's audit record reads (Real). It
// must not import ra or any package that serves or calls the RA.
package raerr
