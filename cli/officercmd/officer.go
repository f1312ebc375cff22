package officercmd

import (
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/raclient"
	ucli "github.com/urfave/cli/v2"
)

// Command is smki officer: appoint, renew, export, list and remove officers.
func Command() *ucli.Command {
	return &ucli.Command{
		Name:  "officer",
		Usage: "officers: SROs and AROs of parties, and the RA's own staff",
		Subcommands: []*ucli.Command{
			{
				Name:  "add",
				Usage: "appoint an officer and write their credential directory",
				Description: `RA operators appoint RA staff and a party's first SRO; an SRO appoints its
own party's AROs. The credential (key.pem, cert.pem, ca.pem) is an mTLS client
certificate from the RA access CA, used later as --officer DIR.

With --csr (made by the appointee with smki officer keygen) the RA certifies the
appointee's own key: --out receives cert.pem and ca.pem only, for the appointee to
put beside their key.pem, and nobody but the appointee ever holds their key.

--out is created (mode 0700) and checked writable before the appointment is sent:
the RA hands a credential over once. If the answer is lost (a timeout after the RA
appointed), sending the command again is refused E_RA_EXISTS: the officer is
appointed but holds no credential, so re-issue one for a key the officer makes
(smki officer keygen, smki officer reissue) rather than choosing another ID.

Examples:
   smki officer add --id srp1-sro --name "Sam Roe" --kind sro --party 90-B3-D5-1F-30-00-00-5C --out ./srp1-sro
   smki officer add --id approver2 --name "Ann Lee" --kind ra-approver --csr ./ann/officer.csr --out ./ann-cert`,
				Flags: verb.ClientFlagsWith(
					&ucli.StringFlag{Name: "id", Usage: "officer ID (a-z 0-9 . _ -)", Required: true},
					&ucli.StringFlag{Name: "name", Usage: "the person's name", Required: true},
					&ucli.StringFlag{Name: "kind", Usage: "sro, aro, ra-operator, ra-approver, authority-liaison or verifier", Required: true},
					&ucli.StringFlag{Name: "party", Usage: "Party ID for sro and aro"},
					&ucli.StringFlag{Name: "csr", Usage: "the appointee's CSR (smki officer keygen): certify their own key"},
					&ucli.StringFlag{Name: "out", Usage: "credential directory to write", Required: true},
				),
				Action: func(c *ucli.Context) error {
					party, err := verb.EUIFlag(c, "party", false)
					if err != nil {
						return err
					}
					out := c.String("out")
					if _, err := os.Stat(credential.CertPath(out)); err == nil {
						return verb.UsageErr("--out %s already holds a credential", out)
					}
					var csrPEM []byte
					if f := c.String("csr"); f != "" {
						if csrPEM, err = verb.ReadLimited(f, ca.MaxCSRSize); err != nil {
							return verb.WithCode(verb.ExitUsage, err)
						}
						if err := keyOfCSR(out, f, csrPEM); err != nil {
							return err
						}
					} else if _, err := os.Stat(credential.KeyPath(out)); err == nil {
						return verb.UsageErr("--out %s already holds a key: give its CSR with --csr", out)
					}
					id := c.String("id")
					return writeCredential(c, id, out, c.String("csr"), func(cl *raclient.Client) (ra.Officer, ownpki.Credential, error) {
						o, cred, err := cl.AppointOfficer(c.Context, ra.OfficerRequest{ID: id, Name: c.String("name"), Kind: c.String("kind"), PartyID: party, CSR: string(csrPEM)})
						return o, cred, appointRefusal(err, id, party, c.String("csr"))
					}, func(o ra.Officer, cred ownpki.Credential) string {
						if len(cred.KeyPEM) == 0 {
							return fmt.Sprintf("officer %s (%s) appointed; cert.pem and ca.pem written to %s for the appointee to put beside their key.pem", o.ID, o.Kind, out)
						}
						return fmt.Sprintf("officer %s (%s) appointed; credential written to %s", o.ID, o.Kind, out)
					})
				},
			},
			officerKeygenCommand(),
			officerExportCommand(),
			officerRenewCommand(),
			officerReissueCommand(),
			{
				Name: "list", Usage: "list officers, optionally of one party",
				Description: "CREDENTIAL EXPIRES shows who must renew (smki officer renew) and when;\n\"-\" for officers appointed before smki recorded it.\n\nExample:\n   smki officer list --party 90-B3-D5-1F-30-00-00-5C",
				Flags:       verb.ClientFlagsWith(&ucli.StringFlag{Name: "party", Usage: "Party ID (EUI-64)"}),
				Action: func(c *ucli.Context) error {
					party, err := verb.EUIFlag(c, "party", false)
					if err != nil {
						return err
					}
					return verb.Call(c, func(cl *raclient.Client) ([]ra.Officer, error) {
						return cl.ListOfficers(c.Context, party)
					}, verb.Each(c, "ID\tKIND\tPARTY\tNAME\tSTATUS\tAPPOINTED BY\tCREDENTIAL EXPIRES", func(o ra.Officer) []string {
						expires := "-"
						if o.CredentialExpires != nil {
							expires = o.CredentialExpires.UTC().Format("2006-01-02")
						}
						return []string{o.ID, o.Kind, o.PartyID, o.Name, o.Status, o.AppointedBy, expires}
					}))
				},
			},
			{
				Name: "remove", Usage: "remove an officer; their credential is refused at once",
				Description: "Example:\n   smki officer remove --id srp1-aro",
				Flags:       verb.ClientFlagsWith(&ucli.StringFlag{Name: "id", Usage: "officer ID", Required: true}),
				Action: func(c *ucli.Context) error {
					return verb.Call(c, func(cl *raclient.Client) (ra.Officer, error) {
						return cl.RemoveOfficer(c.Context, c.String("id"))
					}, func(o ra.Officer) error {
						_, err := fmt.Fprintf(c.App.Writer, "officer %s removed\n", o.ID)
						return err
					})
				},
			},
			officerStatusCommand("suspend", "suspended", "suspend an officer: their credential is refused from their next request until reinstated (whoever may remove them)"),
			officerStatusCommand("reinstate", "active", "reinstate a suspended officer: the same credential works again"),
		},
	}
}

// officerKeygenCommand makes an officer's key where the officer is, so that
// the appointing officer never holds it (ra.OfficerRequest.CSR).
func officerKeygenCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "keygen",
		Usage: "as the appointee: make your own credential key and a CSR for the officer who appoints you",
		Description: `Writes DIR/key.pem (P-256, mode 0600; it never leaves DIR) and DIR/officer.csr.
Send officer.csr to the officer who appoints you (smki officer add --csr); put the
cert.pem and ca.pem they send back into DIR, which is then your --officer DIR.

Example:
   smki officer keygen --out ./ann
   # the appointer: smki officer add --id ann --name "Ann Lee" --kind ra-approver --csr officer.csr --out ./ann-cert
   cp ./ann-cert/cert.pem ./ann-cert/ca.pem ./ann/`,
		Flags: []ucli.Flag{&ucli.StringFlag{Name: "out", Usage: "credential directory to create", Required: true}},
		Action: func(c *ucli.Context) error {
			dir := c.String("out")
			csrPath := filepath.Join(dir, "officer.csr")
			for _, f := range []string{credential.KeyPath(dir), csrPath} {
				if _, err := os.Lstat(f); err == nil {
					return verb.UsageErr("--out %s already holds %s: smki officer keygen never replaces an officer's key or its CSR; "+
						"name a new directory with --out", dir, filepath.Base(f))
				}
			}
			if _, err := verb.MakeOutDir("out", dir); err != nil {
				return err
			}
			keyPEM, csrPEM, err := newOfficerKey()
			if err != nil {
				return err
			}
			if err := verb.WriteNew(credential.KeyPath(dir), keyPEM, 0o600); err != nil {
				return err
			}
			if err := verb.WriteNew(csrPath, csrPEM, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "key written to %s/key.pem; send %s to the officer who appoints you\n", dir, csrPath)
			return nil
		},
	}
}

// keyOfCSR checks, before the appointment is sent, that a key.pem
// already in out (the appointee's own directory, smki officer keygen) is
// the key of the CSR in csrFile: the certificate is written beside it, and
// one for another key could not be (credential.Write refuses it) after the
// RA had appointed the officer. No key.pem, or a CSR smki cannot read (the
// RA says why), passes.
func keyOfCSR(out, csrFile string, csrPEM []byte) error {
	if _, err := os.Stat(credential.KeyPath(out)); err != nil {
		return nil
	}
	csr, err := ca.ParseCSR(csrPEM)
	if err != nil {
		return nil
	}
	key, err := credential.LoadKey(credential.KeyPath(out))
	if err != nil {
		return verb.UsageErr("--out %s holds a key.pem smki cannot read (%v): give the appointee's directory, or another --out", out, err)
	}
	if k, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(csr.PublicKey) {
		return verb.UsageErr("--out %s holds a key.pem that is not the key of --csr %s: give the directory smki officer keygen "+
			"made that CSR in, or another --out; nothing was sent", out, csrFile)
	}
	return nil
}

// writeCredential is the one call of a verb that has the RA certify an
// officer's credential (officer add, officer reissue) for officer id: it
// readies out before anything is sent (the RA hands a key it generated
// over once), writes what the RA answered to out, then prints the officer
// record with --json, else the sentence said makes. csrFile is the
// appointee's CSR, "" when the RA generates the key.
func writeCredential(c *ucli.Context, id, out, csrFile string, call func(*raclient.Client) (ra.Officer, ownpki.Credential, error),
	said func(ra.Officer, ownpki.Credential) string) error {
	undo, err := verb.MakeOutDir("out", out)
	if err != nil {
		return err
	}
	var cred ownpki.Credential
	return verb.Call(c, func(cl *raclient.Client) (ra.Officer, error) {
		o, cr, err := call(cl)
		if err != nil {
			undo()
			return o, err
		}
		cred = cr
		if err := ownpki.WriteCredential(out, cr); err != nil {
			return o, unsaved(id, out, csrFile, cr, err)
		}
		return o, nil
	}, func(o ra.Officer) error {
		_, err := fmt.Fprintln(c.App.Writer, said(o, cred))
		return err
	})
}

// errUnsaved: the RA certified an officer's credential, but smki could
// not write it where --out said.
var errUnsaved = errors.New("E_CREDENTIAL_UNSAVED")

// unsaved is why the credential the RA issued to officer id is not in
// out, and how to get one that works: a re-issue for a CSR (the RA never
// hands out a key or certificate again). Exit 1: the RA acted.
func unsaved(id, out, csrFile string, cred ownpki.Credential, err error) error {
	next := fmt.Sprintf("Have it certified again for the same CSR and written elsewhere: smki officer reissue --id %s --csr %s --out NEWDIR", id, csrFile)
	if csrFile == "" {
		next = fmt.Sprintf("The key the RA made for %s is held nowhere else, so nobody holds a working credential of %s: "+
			"the officer makes a key (smki officer keygen --out DIR) and you re-issue the credential for it "+
			"(smki officer reissue --id %s --csr DIR/officer.csr --out DIR)", id, id, id)
	}
	return verb.WithCode(verb.ExitError, fmt.Errorf("%w: the RA issued officer %s a credential (serial %s), but it could not be written to %s: %s. %s",
		errUnsaved, id, cred.Serial, out, credentialIOReason(err), next))
}

// credentialIOReason is why credential.Write failed, in smki's words.
func credentialIOReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return verb.IOReason(err)
	}
	return strings.TrimPrefix(err.Error(), ownpki.ErrAccessCA.Error()+": ")
}

// appointRefusal adds to an E_RA_EXISTS refusal of officer add what the
// appointer most likely needs: the same appointment sent again after its
// answer was lost (a timeout after the RA appointed) meets it, and then
// the officer is appointed with a credential nobody received. Choosing
// another ID would leave that officer active; re-issuing gives it a
// working credential.
func appointRefusal(err error, id string, party eui64.ID, csrFile string) error {
	var ae *raclient.APIError
	if !errors.As(err, &ae) || !errors.Is(err, ra.ErrExists) {
		return err
	}
	list := "smki officer list"
	if !party.IsZero() {
		list += " --party " + party.String()
	}
	// With the appointee's CSR the same key is certified again; without,
	// the key the RA made is lost and the officer makes one.
	reissue := fmt.Sprintf("re-issue the credential for the same CSR: smki officer reissue --id %s --csr %s --out DIR", id, csrFile)
	if csrFile == "" {
		reissue = fmt.Sprintf("have the officer make a key (smki officer keygen --out DIR) and re-issue the credential for it: "+
			"smki officer reissue --id %s --csr DIR/officer.csr --out DIR", id)
	}
	hinted := *ae
	hinted.Message = fmt.Sprintf("%s. If it is the officer you appointed in an earlier smki officer add whose answer was lost "+
		"(a timeout; %s shows who appointed it and when), it holds no credential: %s", strings.TrimRight(ae.Message, ". "), list, reissue)
	return &hinted
}

// officerStatusCommand is smki officer suspend / reinstate.
func officerStatusCommand(name, status, usage string) *ucli.Command {
	return &ucli.Command{
		Name: name, Usage: usage,
		Description: "Example:\n   smki officer " + name + " --id srp1-aro",
		Flags:       verb.ClientFlagsWith(&ucli.StringFlag{Name: "id", Usage: "officer ID", Required: true}),
		Action: func(c *ucli.Context) error {
			return verb.Call(c, func(cl *raclient.Client) (ra.Officer, error) {
				return cl.SetOfficerStatus(c.Context, c.String("id"), status)
			}, func(o ra.Officer) error {
				done := "suspended"
				if o.Status == "active" {
					done = "reinstated"
				}
				_, err := fmt.Fprintf(c.App.Writer, "officer %s %s\n", o.ID, done)
				return err
			})
		},
	}
}
