package officercmd

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"strings"

	ucli "github.com/urfave/cli/v2"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/ra/raapi"
	"github.com/smki/smki/raclient"
)

// ConsoleCommand is smki console open: a login link for the RA console.
func ConsoleCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "console",
		Usage: "the RA console in a browser (docs/console.md)",
		Subcommands: []*ucli.Command{{
			Name:  "open",
			Usage: "print a single-use console login link for your officer credential, and open it",
			Description: `Asks the RA over mTLS, with your officer credential, for a login link to
the console. The link works once, within 60 seconds, and signs in only the
officer whose credential asked for it. It opens in the browser when there is
one (xdg-open with a display); otherwise copy it into your browser.

Example:
   smki console open --ra https://127.0.0.1:8443 --officer ./admin`,
			Flags: verb.ClientFlagsWith(
				&ucli.BoolFlag{Name: "no-browser", Usage: "only print the link"},
			),
			Action: func(c *ucli.Context) error {
				return verb.Call(c, func(cl *raclient.Client) (raapi.LoginLink, error) {
					return cl.ConsoleLoginLink(c.Context)
				}, func(l raapi.LoginLink) error {
					fmt.Fprintln(c.App.Writer, l.URL)
					if !c.Bool("no-browser") {
						openBrowser(l.URL)
					}
					return nil
				})
			},
		}},
	}
}

// openBrowser starts xdg-open on the link where a desktop exists; without
// one it does nothing (the link is printed).
func openBrowser(url string) {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return
	}
	p, err := exec.LookPath("xdg-open")
	if err != nil {
		return
	}
	cmd := exec.Command(p, url)
	if cmd.Start() == nil {
		go cmd.Wait()
	}
}

// officerExportCommand writes an officer credential as PKCS#12 for a
// browser to present as its client certificate.
func officerExportCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "export",
		Usage: "write your officer credential as a PKCS#12 file to import into a browser",
		Description: `Writes key.pem, cert.pem and every CA certificate of ca.pem (the access
root, and the CAs of the RA's own TLS certificate chain when it serves one)
of DIR as one PKCS#12 file (modern encryption: AES-256-CBC with PBKDF2, SHA-256 MAC), protected by the
passphrase in --passphrase-file, or by a new random passphrase that is
printed once. Import it into the browser's certificate store; the console
then signs you in with it (docs/console.md).

Example:
   smki officer export --p12 --officer ./ann --out ann.p12`,
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "p12", Usage: "PKCS#12 (the only format)", Required: true},
			&ucli.StringFlag{Name: "officer", Usage: "officer credential directory (key.pem, cert.pem, ca.pem)", Required: true},
			&ucli.StringFlag{Name: "out", Usage: "PKCS#12 file to create", Required: true},
			&ucli.StringFlag{Name: "passphrase-file", Usage: "file holding the passphrase (default: a new one, printed)"},
		},
		Action: func(c *ucli.Context) error {
			dir := c.String("officer")
			key, err := credential.LoadKey(credential.KeyPath(dir))
			if err != nil {
				return verb.WithCode(verb.ExitUsage, fmt.Errorf("E_CREDENTIAL: %s: %v; give the directory smki officer add or keygen wrote", credential.KeyPath(dir), err))
			}
			cert, err := credential.ReadCert(dir)
			if err != nil {
				return verb.WithCode(verb.ExitUsage, fmt.Errorf("E_CREDENTIAL: %v; give the directory smki officer add or keygen wrote", err))
			}
			// Every CA certificate of ca.pem: the access root, and the CAs
			// of an operator's served TLS chain after it.
			cas, err := credential.ReadCAs(dir)
			if err != nil {
				return verb.WithCode(verb.ExitUsage, fmt.Errorf("E_CREDENTIAL: %v; give the directory smki officer add or keygen wrote", err))
			}
			pass, printed := "", false
			if f := c.String("passphrase-file"); f != "" {
				b, err := verb.ReadLimited(f, 1024)
				if err != nil {
					return verb.WithCode(verb.ExitUsage, err)
				}
				pass = strings.TrimRight(string(b), "\r\n")
				if pass == "" {
					return verb.UsageErr("--passphrase-file %s is empty", f)
				}
			} else {
				var raw [18]byte
				if _, err := rand.Read(raw[:]); err != nil {
					return err
				}
				pass, printed = base64.RawURLEncoding.EncodeToString(raw[:]), true
			}
			der, err := pkcs12.Modern.Encode(key, cert, cas, pass)
			if err != nil {
				return verb.WithCode(verb.ExitUsage, fmt.Errorf("E_CREDENTIAL: the credential could not be written as PKCS#12: %v", err))
			}
			if err := verb.WriteNew(c.String("out"), der, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "PKCS#12 for %s written to %s\n", cert.Subject.CommonName, c.String("out"))
			if printed {
				fmt.Fprintf(c.App.Writer, "passphrase (shown once): %s\n", pass)
			}
			return nil
		},
	}
}
