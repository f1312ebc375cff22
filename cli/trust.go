package cli

import (
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/internal/durable"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/raclient"
	"github.com/smki/smki/verifier"
)

// errTrustNoBundle: the RA left the bundle out of /v1/trust (the officer
// may not read it).
var errTrustNoBundle = errors.New("E_TRUST_NO_BUNDLE")

func trustCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "trust",
		Usage: "the trust directory a verifier needs",
		Subcommands: []*ucli.Command{{
			Name:  "export",
			Usage: "write the RA's trust directory (root, issuing CA, ARL, ORL, signed bundle, manifest) for smki verify and smki verifier serve",
			Description: `Fetches GET /v1/trust and writes, into --out (new, or an empty directory),
exactly what a verifier needs (docs/verifier.md, "The trust directory"):
root.pem, issuing-ca.pem, arl.crl, orl.crl (DER), bundle.json (the signed bundle,
as signed) and manifest.json (each file's SHA-256 and the time of export). The
directory appears whole or not at all, and only after the bundle has been opened
against the exported root and every CRL verified. The bundle is given only to
an officer who may read it (a verifier officer, RA staff).

Example:
   smki trust export --ra https://ra.example:8443 --officer ./verifier-1 --out ./trust
   smki verifier serve --trust ./trust --ra https://ra.example:8443 --officer ./verifier-1`,
			Flags: append([]ucli.Flag{
				&ucli.StringFlag{Name: "out", Usage: "trust `DIR` to create (must not exist, or be empty)", Required: true},
			}, clientFlags()...),
			Action: func(c *ucli.Context) error {
				out := c.String("out")
				if ents, err := os.ReadDir(out); err == nil && len(ents) > 0 {
					return usageErr("--out %s is not empty: give a new or empty directory", out)
				} else if err != nil && !errors.Is(err, os.ErrNotExist) {
					return usageErr("--out %s cannot be read: %v", out, errors.Unwrap(err))
				}
				return withClient(c, func(cl *raclient.Client) error {
					t, err := cl.Trust(c.Context)
					if err != nil {
						return err
					}
					if t.Bundle == "" {
						return usageErr("%v: the RA left the bundle out (%s)", errTrustNoBundle, t.BundleOmitted)
					}
					src, _, _ := raTarget(c)
					m, err := writeTrustDir(out, t, src)
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return printJSON(c, m)
					}
					fmt.Fprintf(c.App.Writer, "trust directory written to %s (exported %s): %d files\n", out, m.ExportedAt.Format(time.RFC3339), len(m.Files))
					return nil
				})
			},
		}},
	}
}

// writeTrustDir writes t as a trust directory: into a new directory beside
// out, checked there with verifier.LoadTrust and Trust.Options, then
// renamed to out, so that out is never half written nor unchecked.
func writeTrustDir(out string, t raapi.Trust, source string) (*verifier.TrustManifest, error) {
	files := map[string][]byte{
		verifier.TrustRootFile:    []byte(t.Root),
		verifier.TrustIssuingFile: []byte(t.IssuingCAs),
		verifier.TrustBundleFile:  []byte(t.Bundle),
	}
	for name, p := range map[string]string{"arl.crl": t.ARL, "orl.crl": t.ORL} {
		blk, _ := pem.Decode([]byte(p))
		if blk == nil || blk.Type != "X509 CRL" {
			return nil, fmt.Errorf("the RA's %s is not a PEM CRL; report this to the RA operator", name)
		}
		files[name] = blk.Bytes
	}
	parent := filepath.Dir(filepath.Clean(out))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, usageErr("--out: cannot create %s: %v", parent, errors.Unwrap(err))
	}
	tmp, err := os.MkdirTemp(parent, ".trust-export-")
	if err != nil {
		return nil, usageErr("--out: cannot write in %s: %v", parent, errors.Unwrap(err))
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, withCode(ExitUsage, err)
	}
	m, err := verifier.WriteTrust(tmp, files, t.ExportedAt, source)
	if err != nil {
		return nil, withCode(ExitUsage, err)
	}
	// What a verifier would do with it, before anyone can use it.
	lt, err := verifier.LoadTrust(tmp)
	if err == nil {
		var o verifier.Options
		if o, err = lt.Options(time.Now()); err == nil {
			_, err = verifier.New(o)
		}
	}
	if err != nil {
		return nil, withCode(ExitError, fmt.Errorf("the RA's trust set does not check out, nothing written: %v", err))
	}
	// An empty --out is replaced: os.Remove removes only an empty directory.
	if err := os.Remove(out); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, usageErr("--out %s is no longer empty: give a new or empty directory", out)
	}
	if err := os.Rename(tmp, out); err != nil {
		return nil, usageErr("--out: cannot create %s: %v", out, errors.Unwrap(err))
	}
	keep = true
	if err := durable.SyncDir(parent); err != nil {
		return nil, withCode(ExitUsage, err)
	}
	return m, nil
}
