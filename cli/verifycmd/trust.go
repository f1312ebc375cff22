package verifycmd

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/durable"
	"github.com/smki/smki/internal/opfile"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/raclient"
	"github.com/smki/smki/verifier"
)

// errTrustNoBundle: the RA left the bundle out of /v1/trust for an
// officer who may not read it.
var errTrustNoBundle = errors.New("E_TRUST_NO_BUNDLE")

// errTrustManifest: what the RA sent does not match its own manifest.
var errTrustManifest = errors.New("E_TRUST_MANIFEST")

// TrustCommand is smki trust export: the trust directory a verifier needs.
func TrustCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "trust",
		Usage: "the trust directory a verifier needs",
		Subcommands: []*ucli.Command{{
			Name:  "export",
			Usage: "write the RA's trust directory (root, issuing CA, ARL, ORL, signed bundle, manifest) for smki verify and smki verifier serve",
			Description: `Fetches GET /v1/trust and writes, into --out (new, or an empty directory),
exactly what a verifier needs (docs/verifier.md, "The trust directory"):
root.pem, issuing-ca.pem, arl.crl, orl.crl (DER), bundle.json (the signed bundle,
as signed) and manifest.json (each file's SHA-256 and the time of export). Every
file must match the RA's own manifest. The directory appears whole or not at all,
and only after the bundle has been opened against the exported root and every CRL
verified.

The bundle carries the RA's user, party and device registers, so the RA gives it
only to an officer who may read it (a verifier officer, RA staff); another
officer's export is refused E_TRUST_NO_BUNDLE. With --ra-ca instead of --officer
(the RA access root that verifies the RA's TLS certificate; no credential is
presented) the export is the public part: everything but bundle.json. smki verifier serve --ra URL
--officer DIR starts from such a directory and fetches the bundle itself.

Example:
   smki trust export --ra https://ra.example:8443 --officer ./verifier-1 --out ./trust
   smki trust export --ra https://ra.example:8443 --ra-ca ./ra-access-ca.pem --out ./trust
   smki verifier serve --trust ./trust --ra https://ra.example:8443 --officer ./verifier-1`,
			Flags: verb.ClientFlagsWith(
				&ucli.StringFlag{Name: "out", Usage: "trust `DIR` to create (must not exist, or be empty)", Required: true},
				&ucli.StringFlag{Name: "ra-ca", Usage: "export the public part (no bundle.json) without a credential, verifying the RA's TLS certificate with this RA access root `PEM` (an officer directory's ca.pem)"},
			),
			Action: func(c *ucli.Context) error {
				out := c.String("out")
				if ents, err := os.ReadDir(out); err == nil && len(ents) > 0 {
					return verb.UsageErr("--out %s is not empty: give a new or empty directory", out)
				} else if err != nil && !errors.Is(err, os.ErrNotExist) {
					return verb.UsageErr("--out %s cannot be read: %v", out, errors.Unwrap(err))
				}
				export := func(cl *raclient.Client, src string, officer bool) error {
					t, err := cl.Trust(c.Context)
					if err != nil {
						return err
					}
					if t.Bundle == "" && officer {
						return verb.UsageErr("%v: the RA left the bundle out (%s); export with a verifier officer, or without --officer for the public part", errTrustNoBundle, t.BundleOmitted)
					}
					m, err := writeTrustDir(out, t, src)
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return verb.PrintJSON(c, m)
					}
					fmt.Fprintf(c.App.Writer, "trust directory written to %s (exported %s): %d files\n", out, m.ExportedAt.Format(time.RFC3339), len(m.Files))
					if t.Bundle == "" {
						fmt.Fprintf(c.App.Writer, "no %s (public export): smki verifier serve --ra URL --officer DIR fetches it from the RA\n", verifier.TrustBundleFile)
					}
					return nil
				}
				if c.String("ra-ca") != "" {
					if c.IsSet("officer") {
						return verb.UsageErr("give --officer (the whole set) or --ra-ca (the public part without bundle.json), not both")
					}
					cl, src, err := publicClient(c)
					if err != nil {
						return err
					}
					return verb.APIErr(export(cl, src, false))
				}
				return verb.WithClient(c, func(cl *raclient.Client) error {
					src, _, _ := verb.RATarget(c)
					return export(cl, src, true)
				})
			},
		}},
	}
}

// publicClient is a client without an officer credential for trust
// export: it verifies the RA's TLS certificate against --ra-ca.
func publicClient(c *ucli.Context) (*raclient.Client, string, error) {
	url := c.String("ra")
	if url == "" {
		url = os.Getenv("SMKI_RA_URL")
	}
	if url == "" {
		return nil, "", verb.UsageErr("no RA URL: --ra or $SMKI_RA_URL")
	}
	caFile := c.String("ra-ca")
	b, err := verb.ReadLimited(caFile, opfile.MaxCertificate)
	if err != nil {
		return nil, "", verb.UsageErr("--ra-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, "", verb.UsageErr("--ra-ca %s holds no PEM certificate", caFile)
	}
	timeout, err := verb.Timeout(c)
	if err != nil {
		return nil, "", err
	}
	cl, err := raclient.NewClientHTTP(url, &http.Client{Timeout: timeout,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool},
			Proxy: http.ProxyFromEnvironment}}) // as raclient.NewClientTLS
	if err != nil {
		return nil, "", verb.WithCode(verb.ExitUsage, err)
	}
	return cl, url, nil
}

// writeTrustDir writes t as a trust directory: into a new directory beside
// out, checked there with verifier.LoadTrust and Trust.Options (or, with
// no bundle, Trust.Check), then renamed to out, so that out is never half
// written nor unchecked. Every file must have the hash the RA's manifest
// gives it.
func writeTrustDir(out string, t raapi.Trust, source string) (*verifier.TrustManifest, error) {
	crls := map[string][]byte{}
	for name, p := range map[string]string{bundle.TrustARLFile: t.ARL, bundle.TrustORLFile: t.ORL} {
		blk, _ := pem.Decode([]byte(p))
		if blk == nil || blk.Type != "X509 CRL" {
			return nil, fmt.Errorf("the RA's %s is not a PEM CRL; report this to the RA operator", name)
		}
		crls[name] = blk.Bytes
	}
	var signed []byte
	if t.Bundle != "" {
		signed = []byte(t.Bundle)
	}
	files := bundle.TrustFiles([]byte(t.Root), []byte(t.IssuingCAs), crls[bundle.TrustARLFile], crls[bundle.TrustORLFile], signed)
	if t.Manifest == nil || !maps.Equal(t.Manifest.Files, bundle.NewTrustManifest(files, t.ExportedAt, "").Files) {
		return nil, verb.WithCode(verb.ExitError, fmt.Errorf("%w: what the RA sent does not match its manifest, nothing written; export again, and report it to the RA operator if it persists", errTrustManifest))
	}
	parent := filepath.Dir(filepath.Clean(out))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, verb.UsageErr("--out: cannot create %s: %v", parent, errors.Unwrap(err))
	}
	tmp, err := os.MkdirTemp(parent, ".trust-export-")
	if err != nil {
		return nil, verb.UsageErr("--out: cannot write in %s: %v", parent, errors.Unwrap(err))
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, verb.WithCode(verb.ExitUsage, err)
	}
	m, err := verifier.WriteTrust(tmp, files, t.ExportedAt, source)
	if err != nil {
		return nil, verb.WithCode(verb.ExitUsage, err)
	}
	// What a verifier would do with it, before anyone can use it.
	lt, err := verifier.LoadTrust(tmp)
	if err == nil && lt.Bundle == nil {
		err = lt.Check()
	} else if err == nil {
		var o verifier.Options
		if o, err = lt.Options(time.Now()); err == nil {
			_, err = verifier.New(o)
		}
	}
	if err != nil {
		return nil, verb.WithCode(verb.ExitError, fmt.Errorf("the RA's trust set does not check out, nothing written: %v", err))
	}
	// An empty --out is replaced: os.Remove removes only an empty directory.
	if err := os.Remove(out); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, verb.UsageErr("--out %s is no longer empty: give a new or empty directory", out)
	}
	if err := os.Rename(tmp, out); err != nil {
		return nil, verb.UsageErr("--out: cannot create %s: %v", out, errors.Unwrap(err))
	}
	keep = true
	if err := durable.SyncDir(parent); err != nil {
		return nil, verb.WithCode(verb.ExitUsage, err)
	}
	return m, nil
}
