// Package check holds the input validation every store engine applies
// before it writes, so that bolt and postgres refuse the same bad input
// with the same stable code (store.ErrInvalid) and write nothing. It makes
// no policy decisions: it checks shape (non-empty keys, lower-case hex
// serials, known enumerations), not whether an operation is allowed.
package check
