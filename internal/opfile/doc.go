// Package opfile reads the files an operator names: a certificate or CA
// bundle (--ra-ca, --tls-ca, --issuer, --cert, --tls-client-ca), a key
// or passphrase file (--passphrase-file, DATA/passphrase), a CRL, the
// server's --config, and the files of a trust directory. It owns one rule:
// such a file is read only up to the cap of its kind, and one over the cap
// is refused (E_FILE_TOO_LARGE, naming the file and the cap) by its size
// before anything is read when it is a regular file, or after cap+1 bytes
// when it is a pipe or a device, so a wrong path (a multi-GB log,
// /dev/zero) is never read into memory. It owns the caps of the kinds
// without a format package of their own (Max*); a format with its own
// cap (bundle.MaxBundleSize, ca.MaxARLSize, devicefile.MaxSize) passes it.
//
// It does not parse what it reads, nor decide what an open failure means
// to the user: callers say that in their own words (a flag, a config key).
// The caps are documented in docs/operations.md ("Files smki reads").
package opfile
