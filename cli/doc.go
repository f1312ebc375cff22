// Package cli is the smki command line: one urfave/cli application whose
// verbs drive the CA, the RA (over HTTPS with mTLS), the verifier and the
// test PKI. It owns argument parsing, configuration (flag, environment,
// config file), output formats (tables, --json) and exit codes; every
// decision it reports is made by the package that owns it.
package cli
