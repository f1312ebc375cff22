package officercmd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/raclient"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/ca"
)

func officerRenewCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "renew",
		Usage: "as an officer: renew your own credential (they last a year) with a key made here",
		Description: `Makes a new P-256 key here, sends its CSR to the RA as the officer of --officer
DIR and writes the new credential (key.pem, cert.pem, ca.pem). The old credential
stops working as soon as the RA answers. Credentials last a year and every client
verb warns on stderr in the last 30 days: renew before the end, since an expired
credential cannot renew itself (then the officer who may appoint you re-issues it:
smki officer reissue). The bootstrap credentials DATA/officers/admin and
DATA/officers/approver are renewed the same way.

Without --out DIR is replaced safely: the new key and credential are written whole
to a new directory beside DIR (.NAME.renew-*) before any file of DIR is touched,
the old files are copied to DIR/previous/, then the new ones are renamed in. If
renew is interrupted after the RA answered, the new credential is complete in
.NAME.renew-*: move its files into DIR. If the RA's answer is lost (a timeout),
smki asks the RA with the old credential: if it still works nothing changed; if it
is superseded, the new key is kept in .NAME.renew-* with its officer.csr, for whoever
may appoint you to re-issue your credential (smki officer reissue). DIR/previous/ is superseded; it works
again only if the RA's store is restored from a backup made before the renewal.
With --out NEWDIR the new credential goes to that new directory and DIR is left
as it was (superseded).

Examples:
   smki officer renew --ra https://127.0.0.1:8443 --officer ./srp1-sro
   smki officer renew --officer DATA/officers/admin --out ./admin-renewed`,
		Flags: verb.ClientFlagsWith(
			&ucli.StringFlag{Name: "out", Usage: "write the new credential to this new directory instead of replacing --officer's"},
		),
		Action: func(c *ucli.Context) error {
			url, dir, err := verb.RATarget(c)
			if err != nil {
				return err
			}
			cert, err := credential.ReadCert(dir)
			if err != nil {
				return verb.WithCode(verb.ExitUsage, err)
			}
			out := c.String("out")
			if out != "" {
				for _, f := range []string{credential.KeyFile, credential.CertFile} {
					if _, err := os.Stat(filepath.Join(out, f)); err == nil {
						return verb.UsageErr("--out %s already holds %s", out, f)
					}
				}
			}
			// No expiry warning here (raClient's): this is its remedy.
			cl, err := raclient.NewClient(url, dir)
			if err != nil {
				return verb.WithCode(verb.ExitUsage, err)
			}
			keyPEM, csrPEM, err := newOfficerKey()
			if err != nil {
				return err
			}
			// The new key is on disk before the RA supersedes the old
			// credential, in the directory that will receive the rest.
			staging := out
			if out == "" {
				abs, err := filepath.Abs(dir) // "." has no name to stage beside
				if err != nil {
					return verb.WithCode(verb.ExitUsage, err)
				}
				if staging, err = os.MkdirTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".renew-"); err != nil {
					return verb.WithCode(verb.ExitUsage, err)
				}
			} else if _, err := verb.MakeOutDir("out", out); err != nil {
				return err
			}
			keyPath := credential.KeyPath(staging)
			if err := verb.WriteNew(keyPath, keyPEM, 0o600); err != nil {
				return err
			}
			o, cred, err := cl.RenewOfficerCredential(c.Context, cert.Subject.CommonName, string(csrPEM))
			discard := func() {
				if out == "" {
					os.RemoveAll(staging)
				} else {
					os.Remove(keyPath)
				}
			}
			if err != nil && raclient.MayHaveActed(err) {
				return renewAnswerLost(c, cl, cert.Subject.CommonName, staging, csrPEM, discard, err)
			}
			if err != nil {
				// Nothing changed at the RA: the new key certifies nothing.
				discard()
				return verb.APIErr(err)
			}
			// From here the old credential is superseded: never delete the
			// new one, say where it is.
			if err := ownpki.WriteCredential(staging, cred); err != nil {
				return fmt.Errorf("the RA renewed the credential of %s (serial %s) but writing it to %s failed; the old one no longer works: %w", o.ID, cred.Serial, staging, err)
			}
			if out == "" {
				if err := credential.Swap(dir, staging); err != nil {
					return fmt.Errorf("the new credential of %s is complete in %s but not yet in %s (the old one no longer works): move its files into %s: %w", o.ID, staging, dir, dir, err)
				}
				out = dir
			}
			if c.Bool("json") {
				return verb.PrintJSON(c, o)
			}
			fmt.Fprintf(c.App.Writer, "credential of officer %s renewed (serial %s, expires %s); written to %s\n", o.ID, cred.Serial, certExpiry(cred.CertPEM), out)
			return nil
		},
	}
}

// renewAnswerLost is smki officer renew's answer when the renewal got no
// answer but may have reached the RA (err): if the RA renewed, the old
// credential is superseded and the new key in staging is the only one
// left, so it is never deleted on a guess. The old credential asks the
// RA: still current, nothing changed (discard the key; renew again);
// superseded, the renewal happened and its answer is lost for good (the
// RA hands a credential over once), so the key stays with its
// officer.csr for a re-issue by whoever may appoint the officer.
func renewAnswerLost(c *ucli.Context, cl *raclient.Client, id, staging string, csrPEM []byte, discard func(), err error) error {
	_, probe := cl.Whoami(c.Context)
	if probe == nil {
		discard()
		return verb.WithCode(verb.ExitError, fmt.Errorf("%w. The RA did not renew it (your credential still works): nothing changed; "+
			"run smki officer renew again", verb.APIErr(err)))
	}
	csrPath := filepath.Join(staging, "officer.csr")
	if werr := verb.WriteNew(csrPath, csrPEM, 0o644); werr != nil {
		csrPath = "(officer.csr could not be written: make one with smki officer keygen)"
	}
	reissue := fmt.Sprintf("ask an officer who may appoint you to re-issue your credential for it: smki officer reissue --id %s --csr %s --out DIR, "+
		"then put the cert.pem and ca.pem they send back into %s and use it as --officer", id, csrPath, staging)
	if errors.Is(probe, ra.ErrOfficerInactive) {
		return verb.WithCode(verb.ExitError, fmt.Errorf("%w. The RA renewed your credential, but its answer was lost: your old credential "+
			"no longer works, and the new key is kept in %s; %s", verb.APIErr(err), staging, reissue))
	}
	return verb.WithCode(verb.ExitError, fmt.Errorf("%w. Whether the RA renewed your credential is not known: the new key is kept in %s. "+
		"When the RA answers, run any smki verb with your credential: if it works, nothing changed (remove %s and renew again); "+
		"if it is refused E_RA_OFFICER_INACTIVE, the renewal happened: %s", verb.APIErr(err), staging, staging, reissue))
}

func officerReissueCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "reissue",
		Usage: "re-issue the credential of an officer who lost their key (or let it expire), for their CSR",
		Description: `The officer makes a new key with smki officer keygen and sends you its
officer.csr; the RA certifies that key, and their lost credential stops working at
once. Only whoever may appoint that officer re-issues (an ra-operator re-issues any
SRO, not only a party's first), and only for a CSR: the RA never gives you another
officer's key. Since you chose which key was certified, you become the officer's
appointed_by, which four-eyes looks at. --out receives cert.pem and ca.pem for the
officer to put beside their key.pem, as with smki officer add --csr.

Example:
   smki officer keygen --out ./aro-new            # the officer
   smki officer reissue --id srp1-aro --csr ./aro-new/officer.csr --out ./srp1-aro-cert
   cp ./srp1-aro-cert/cert.pem ./srp1-aro-cert/ca.pem ./aro-new/   # the officer`,
		Flags: verb.ClientFlagsWith(
			&ucli.StringFlag{Name: "id", Usage: "officer ID", Required: true},
			&ucli.StringFlag{Name: "csr", Usage: "the officer's CSR (smki officer keygen)", Required: true},
			&ucli.StringFlag{Name: "out", Usage: "directory to write cert.pem and ca.pem to", Required: true},
		),
		Action: func(c *ucli.Context) error {
			out := c.String("out")
			if _, err := os.Stat(credential.CertPath(out)); err == nil {
				return verb.UsageErr("--out %s already holds a credential", out)
			}
			csrPEM, err := verb.ReadLimited(c.String("csr"), ca.MaxCSRSize)
			if err != nil {
				return verb.WithCode(verb.ExitUsage, err)
			}
			return writeCredential(c, c.String("id"), out, c.String("csr"), func(cl *raclient.Client) (ra.Officer, ownpki.Credential, error) {
				return cl.RenewOfficerCredential(c.Context, c.String("id"), string(csrPEM))
			}, func(o ra.Officer, cred ownpki.Credential) string {
				return fmt.Sprintf("credential of officer %s re-issued (serial %s); cert.pem and ca.pem written to %s for the officer to put beside their key.pem", o.ID, cred.Serial, out)
			})
		},
	}
}

// newOfficerKey makes a P-256 officer key and a CSR for it (the RA ignores
// the subject and names the certificate itself).
func newOfficerKey() (keyPEM, csrPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}), nil
}

func certExpiry(certPEM []byte) string {
	if b, _ := pem.Decode(certPEM); b != nil {
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			return c.NotAfter.UTC().Format(time.DateOnly)
		}
	}
	return "?"
}
