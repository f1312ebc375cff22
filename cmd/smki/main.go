// Command smki is the SMKI RA/CA server, the SRP and RA-staff client, the
// verifier CLI and sidecar, and the test-PKI builder, in one binary.
package main

import (
	"os"

	"github.com/smki/smki/cli"
)

func main() { os.Exit(cli.Main(os.Args, os.Stdin, os.Stdout, os.Stderr)) }
