package cli

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
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/durable"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/raclient"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/role"
)

// withClient is how a verb talks to the RA: it builds the client from the
// verb's --ra and --officer (a bad credential is a usage error; one near
// expiry is warned about on stderr), runs call, and returns call's error
// with an RA refusal reported as "E_CODE: message" (apiErr). A verb is its
// flags plus one withClient.
func withClient(c *ucli.Context, call func(*raclient.Client) error) error {
	url, officer, err := raTarget(c)
	if err != nil {
		return err
	}
	cl, err := raclient.NewClient(url, officer)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	// On stderr only: stdout may be --json for a script.
	warnExpiring(c.App.ErrWriter, officer, time.Now())
	cl.SetBusyRetry(raclient.DefaultBusyRetries, func(b raclient.BusyRetry) {
		fmt.Fprintf(c.App.ErrWriter, "smki: the RA is busy (E_RA_BUSY, nothing was changed); retrying in %.1fs (retry %d of %d)\n",
			b.Wait.Seconds(), b.Attempt, b.Of)
	})
	return apiErr(call(cl))
}

// raRefusal is an RA refusal as the CLI prints it: "E_CODE: message". It
// unwraps to the *raclient.APIError, so exitCode and errors.Is still see
// the code.
type raRefusal struct{ *raclient.APIError }

func (r raRefusal) Error() string {
	if strings.HasPrefix(r.Message, r.Code) {
		return r.Message
	}
	return r.Code + ": " + r.Message
}

func (r raRefusal) Unwrap() error { return r.APIError }

// apiErr turns an RA refusal into "E_CODE: message"; other errors pass.
func apiErr(err error) error {
	var ae *raclient.APIError
	if errors.As(err, &ae) {
		return raRefusal{ae}
	}
	return err
}

func euiFlag(c *ucli.Context, name string, required bool) (eui64.ID, error) {
	s := c.String(name)
	if s == "" {
		if required {
			return eui64.ID{}, usageErr("--%s is required", name)
		}
		return eui64.ID{}, nil
	}
	id, err := eui64.Parse(s)
	if err != nil {
		return id, usageErr("--%s: %v", name, err)
	}
	return id, nil
}

// show prints v as JSON with --json, otherwise rows as a table.
func show(c *ucli.Context, v any, header string, rows [][]string) error {
	if c.Bool("json") {
		return printJSON(c, v)
	}
	table(c, header, rows)
	return nil
}

func table(c *ucli.Context, header string, rows [][]string) {
	w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, header)
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	w.Flush()
}

func partyCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "party",
		Usage: "SEC Parties (RA operators)",
		Subcommands: []*ucli.Command{
			{
				Name: "create", Usage: "register a SEC Party",
				Description: "Example:\n   smki party create --id 90-B3-D5-1F-30-00-00-0A --name supplier-a",
				Flags: append([]ucli.Flag{
					&ucli.StringFlag{Name: "id", Usage: "Party ID (EUI-64)", Required: true},
					&ucli.StringFlag{Name: "name", Usage: "party name", Required: true},
				}, clientFlags()...),
				Action: func(c *ucli.Context) error {
					id, err := euiFlag(c, "id", true)
					if err != nil {
						return err
					}
					return withClient(c, func(cl *raclient.Client) error {
						p, err := cl.CreateParty(c.Context, id, c.String("name"))
						if err != nil {
							return err
						}
						return show(c, p, "ID\tNAME\tSTATUS", [][]string{{p.ID.String(), p.Name, p.Status}})
					})
				},
			},
			partyStatusCommand("suspend", "suspended", "suspend a party: verifiers following the feed refuse its users' requests (PARTY) within a second (ra-operator)"),
			partyStatusCommand("reinstate", "active", "reinstate a suspended party (ra-operator)"),
			{
				Name: "list", Usage: "list parties",
				Description: "Example:\n   smki party list --json",
				Flags:       clientFlags(),
				Action: func(c *ucli.Context) error {
					return withClient(c, func(cl *raclient.Client) error {
						ps, err := cl.ListParties(c.Context)
						if err != nil {
							return err
						}
						var rows [][]string
						for _, p := range ps {
							rows = append(rows, []string{p.ID.String(), p.Name, p.Status})
						}
						return show(c, ps, "ID\tNAME\tSTATUS", rows)
					})
				},
			},
		},
	}
}

// partyStatusCommand is smki party suspend / reinstate.
func partyStatusCommand(name, status, usage string) *ucli.Command {
	return &ucli.Command{
		Name: name, Usage: usage,
		Description: "Example:\n   smki party " + name + " --id 90-B3-D5-1F-30-00-00-0A",
		Flags: append([]ucli.Flag{
			&ucli.StringFlag{Name: "id", Usage: "Party ID (EUI-64)", Required: true},
		}, clientFlags()...),
		Action: func(c *ucli.Context) error {
			id, err := euiFlag(c, "id", true)
			if err != nil {
				return err
			}
			return withClient(c, func(cl *raclient.Client) error {
				p, err := cl.SetPartyStatus(c.Context, id, status)
				if err != nil {
					return err
				}
				return show(c, p, "ID\tNAME\tSTATUS", [][]string{{p.ID.String(), p.Name, p.Status}})
			})
		},
	}
}

func userCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "user",
		Usage: "User IDs and their User Roles (RA operators)",
		Subcommands: []*ucli.Command{
			{
				Name: "create", Usage: "register a User ID for a party with one User Role",
				Description: "Example:\n   smki user create --id 90-B3-D5-1F-30-05-00-00 --party 90-B3-D5-1F-30-00-00-5C --role SC --name srp-sc",
				Flags: append([]ucli.Flag{
					&ucli.StringFlag{Name: "id", Usage: "User ID (EUI-64)", Required: true},
					&ucli.StringFlag{Name: "party", Usage: "Party ID (EUI-64)", Required: true},
					&ucli.StringFlag{Name: "role", Usage: "User Role: IS, ES, GS, RSA, ED, GT, OU or SC", Required: true},
					&ucli.StringFlag{Name: "name", Usage: "display name", Required: true},
				}, clientFlags()...),
				Action: func(c *ucli.Context) error {
					id, err := euiFlag(c, "id", true)
					if err != nil {
						return err
					}
					party, err := euiFlag(c, "party", true)
					if err != nil {
						return err
					}
					r, err := role.Parse(c.String("role"))
					if err != nil {
						return usageErr("--role: %v", err)
					}
					return withClient(c, func(cl *raclient.Client) error {
						u, err := cl.CreateUser(c.Context, id, party, r, c.String("name"))
						if err != nil {
							return err
						}
						return show(c, u, "ID\tPARTY\tROLE\tNAME\tSTATUS", [][]string{{u.ID.String(), u.PartyID.String(), string(u.Role), u.Name, u.Status}})
					})
				},
			},
			{
				Name: "list", Usage: "list users, optionally of one party",
				Description: "Example:\n   smki user list --party 90-B3-D5-1F-30-00-00-5C",
				Flags:       append([]ucli.Flag{&ucli.StringFlag{Name: "party", Usage: "Party ID (EUI-64)"}}, clientFlags()...),
				Action: func(c *ucli.Context) error {
					party, err := euiFlag(c, "party", false)
					if err != nil {
						return err
					}
					return withClient(c, func(cl *raclient.Client) error {
						us, err := cl.ListUsers(c.Context, party)
						if err != nil {
							return err
						}
						var rows [][]string
						for _, u := range us {
							rows = append(rows, []string{u.ID.String(), u.PartyID.String(), string(u.Role), u.Name, u.Status})
						}
						return show(c, us, "ID\tPARTY\tROLE\tNAME\tSTATUS", rows)
					})
				},
			},
		},
	}
}

func officerCommand() *ucli.Command {
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

Examples:
   smki officer add --id srp1-sro --name "Sam Roe" --kind sro --party 90-B3-D5-1F-30-00-00-5C --out ./srp1-sro
   smki officer add --id approver2 --name "Ann Lee" --kind ra-approver --csr ./ann/officer.csr --out ./ann-cert`,
				Flags: append([]ucli.Flag{
					&ucli.StringFlag{Name: "id", Usage: "officer ID (a-z 0-9 . _ -)", Required: true},
					&ucli.StringFlag{Name: "name", Usage: "the person's name", Required: true},
					&ucli.StringFlag{Name: "kind", Usage: "sro, aro, ra-operator, ra-approver, authority-liaison or verifier", Required: true},
					&ucli.StringFlag{Name: "party", Usage: "Party ID for sro and aro"},
					&ucli.StringFlag{Name: "csr", Usage: "the appointee's CSR (smki officer keygen): certify their own key"},
					&ucli.StringFlag{Name: "out", Usage: "credential directory to write", Required: true},
				}, clientFlags()...),
				Action: func(c *ucli.Context) error {
					party, err := euiFlag(c, "party", false)
					if err != nil {
						return err
					}
					out := c.String("out")
					if _, err := os.Stat(credential.CertPath(out)); err == nil {
						return usageErr("--out %s already holds a credential", out)
					}
					var csrPEM []byte
					if f := c.String("csr"); f != "" {
						if csrPEM, err = readLimited(f, ca.MaxCSRSize); err != nil {
							return withCode(ExitUsage, err)
						}
					} else if _, err := os.Stat(credential.KeyPath(out)); err == nil {
						return usageErr("--out %s already holds a key: give its CSR with --csr", out)
					}
					return withClient(c, func(cl *raclient.Client) error {
						o, cred, err := cl.AppointOfficer(c.Context, ra.OfficerRequest{ID: c.String("id"), Name: c.String("name"), Kind: c.String("kind"), PartyID: party, CSR: string(csrPEM)})
						if err != nil {
							return err
						}
						if err := ownpki.WriteCredential(c.String("out"), cred); err != nil {
							return err
						}
						if c.Bool("json") {
							return printJSON(c, o)
						}
						if len(cred.KeyPEM) == 0 {
							fmt.Fprintf(c.App.Writer, "officer %s (%s) appointed; cert.pem and ca.pem written to %s for the appointee to put beside their key.pem\n", o.ID, o.Kind, out)
							return nil
						}
						fmt.Fprintf(c.App.Writer, "officer %s (%s) appointed; credential written to %s\n", o.ID, o.Kind, out)
						return nil
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
				Flags:       append([]ucli.Flag{&ucli.StringFlag{Name: "party", Usage: "Party ID (EUI-64)"}}, clientFlags()...),
				Action: func(c *ucli.Context) error {
					party, err := euiFlag(c, "party", false)
					if err != nil {
						return err
					}
					return withClient(c, func(cl *raclient.Client) error {
						officers, err := cl.ListOfficers(c.Context, party)
						if err != nil {
							return err
						}
						var rows [][]string
						for _, o := range officers {
							expires := "-"
							if o.CredentialExpires != nil {
								expires = o.CredentialExpires.UTC().Format("2006-01-02")
							}
							rows = append(rows, []string{o.ID, o.Kind, o.PartyID, o.Name, o.Status, o.AppointedBy, expires})
						}
						return show(c, officers, "ID\tKIND\tPARTY\tNAME\tSTATUS\tAPPOINTED BY\tCREDENTIAL EXPIRES", rows)
					})
				},
			},
			{
				Name: "remove", Usage: "remove an officer; their credential is refused at once",
				Description: "Example:\n   smki officer remove --id srp1-aro",
				Flags:       append([]ucli.Flag{&ucli.StringFlag{Name: "id", Usage: "officer ID", Required: true}}, clientFlags()...),
				Action: func(c *ucli.Context) error {
					return withClient(c, func(cl *raclient.Client) error {
						o, err := cl.RemoveOfficer(c.Context, c.String("id"))
						if err != nil {
							return err
						}
						if c.Bool("json") {
							return printJSON(c, o)
						}
						fmt.Fprintf(c.App.Writer, "officer %s removed\n", o.ID)
						return nil
					})
				},
			},
		},
	}
}

func keygenCommand() *ucli.Command {
	return &ucli.Command{
		Name:        "keygen",
		Usage:       "generate an ECDSA P-256 private key (PKCS#8 PEM, mode 0600)",
		Description: "Example:\n   smki keygen --out sc-xml.key",
		Flags:       []ucli.Flag{&ucli.StringFlag{Name: "out", Usage: "key file to create", Required: true}},
		Action: func(c *ucli.Context) error {
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				return err
			}
			der, err := x509.MarshalPKCS8PrivateKey(key)
			if err != nil {
				return err
			}
			f, err := os.OpenFile(c.String("out"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return withCode(ExitUsage, err)
			}
			defer f.Close()
			if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "P-256 key written to %s\n", c.String("out"))
			return f.Close()
		},
	}
}

func csrCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "csr",
		Usage: "make a PKCS#10 request with the subject the RA expects for a User ID and profile",
		Description: `The subject carries OU (the profile's remote party role: 87 for xml-signing)
and x500UniqueIdentifier (the User ID). --role is needed for digital-signing and
key-agreement, whose OU depends on it.

Example:
   smki csr --key sc-xml.key --user-id 90-B3-D5-1F-30-05-00-00 --profile xml-signing --out sc-xml.csr`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "key", Usage: "private key (PEM)", Required: true},
			&ucli.StringFlag{Name: "user-id", Usage: "User ID (EUI-64)", Required: true},
			&ucli.StringFlag{Name: "profile", Usage: "xml-signing, digital-signing or key-agreement", Required: true},
			&ucli.StringFlag{Name: "role", Usage: "User Role (needed for digital-signing and key-agreement)"},
			&ucli.StringFlag{Name: "cn", Usage: "optional common name"},
			&ucli.StringFlag{Name: "out", Usage: "CSR file (default stdout)"},
		},
		Action: func(c *ucli.Context) error {
			id, err := euiFlag(c, "user-id", true)
			if err != nil {
				return err
			}
			p, err := ca.ParseProfile(c.String("profile"))
			if err != nil {
				return usageErr("--profile: %v", err)
			}
			r := role.OtherUser // xml-signing's OU (87) does not depend on the role
			if s := c.String("role"); s != "" {
				if r, err = role.Parse(s); err != nil {
					return usageErr("--role: %v", err)
				}
			} else if p != ca.XMLSigning {
				return usageErr("--role is required for %s", p)
			}
			key, err := credential.LoadKey(c.String("key"))
			if err != nil {
				return withCode(ExitUsage, err)
			}
			csr, err := ra.NewCSR(key, id, r, p, c.String("cn"))
			if err != nil {
				return err
			}
			return writeOut(c, c.String("out"), csr)
		},
	}
}

func enrollCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "enroll",
		Usage: "submit a CSR to the RA and write the issued certificate",
		Description: `An SRO or ARO of the user's party submits; the RA checks the role -> profile
eligibility (SC gets xml-signing only), the subject, and that the key was never
certified for another user. --csr is PEM or DER (openssl req -outform DER),
from a file or - (stdin). The issued certificate is written to --out, or as PEM
to stdout; with --json, stdout is the certificate record with its "pem".

Example:
   smki enroll --ra https://127.0.0.1:8443 --officer ./srp1-aro --user-id 90-B3-D5-1F-30-05-00-00 \
       --profile xml-signing --csr sc-xml.csr --out sc-xml.pem`,
		Flags: append([]ucli.Flag{
			&ucli.StringFlag{Name: "user-id", Usage: "User ID (EUI-64)", Required: true},
			&ucli.StringFlag{Name: "profile", Usage: "certificate profile", Required: true},
			&ucli.StringFlag{Name: "csr", Usage: "CSR `FILE` (PEM or DER, told by content), or - for stdin", Required: true},
			&ucli.StringFlag{Name: "out", Usage: "certificate file (default: the PEM on stdout; with --json, in the JSON's pem)"},
			&ucli.StringFlag{Name: "mode", Usage: "enrol, renew or rekey", Value: "enrol"},
			&ucli.StringFlag{Name: "replaces", Usage: "serial of the certificate renewed or re-keyed"},
		}, clientFlags()...),
		Action: func(c *ucli.Context) error {
			id, err := euiFlag(c, "user-id", true)
			if err != nil {
				return err
			}
			csr, err := readCSR(c, c.String("csr"))
			if err != nil {
				return err
			}
			return withClient(c, func(cl *raclient.Client) error {
				is, err := cl.Enrol(c.Context, ra.EnrolRequest{UserID: id, Profile: ca.Profile(c.String("profile")), CSR: csr,
					Mode: ra.EnrolMode(c.String("mode")), Replaces: c.String("replaces")})
				if err != nil {
					return err
				}
				if c.Bool("json") {
					// The certificate itself travels in the JSON: nothing
					// is lost without --out.
					cert := is.Cert
					cert.PEM = string(is.CertPEM)
					if err := printJSON(c, cert); err != nil {
						return err
					}
					if out := c.String("out"); out != "" {
						return writeOut(c, out, is.CertPEM)
					}
					return nil
				}
				if err := writeOut(c, c.String("out"), is.CertPEM); err != nil {
					return err
				}
				if c.String("out") != "" {
					fmt.Fprintf(c.App.Writer, "issued %s serial %s to %s\n", is.Cert.Profile, is.Cert.Serial, c.String("out"))
				}
				return nil
			})
		},
	}
}

func certsCommand() *ucli.Command {
	return &ucli.Command{
		Name:        "certs",
		Usage:       "list Organisation Certificates",
		Description: "Example:\n   smki certs --party 90-B3-D5-1F-30-00-00-0A --status good",
		Flags: append([]ucli.Flag{
			&ucli.StringFlag{Name: "user", Usage: "User ID"},
			&ucli.StringFlag{Name: "party", Usage: "Party ID"},
			&ucli.StringFlag{Name: "status", Usage: "good or revoked"},
			&ucli.IntFlag{Name: "limit", Usage: "at most this many"},
		}, clientFlags()...),
		Action: func(c *ucli.Context) error {
			user, err := euiFlag(c, "user", false)
			if err != nil {
				return err
			}
			party, err := euiFlag(c, "party", false)
			if err != nil {
				return err
			}
			return withClient(c, func(cl *raclient.Client) error {
				cs, err := cl.ListCertificates(c.Context, ra.CertQuery{UserID: user, PartyID: party, Status: c.String("status"), Limit: c.Int("limit")})
				if err != nil {
					return err
				}
				return show(c, cs, "SERIAL\tUSER\tPROFILE\tROLE\tSTATUS\tNOT AFTER", certRows(cs))
			})
		},
	}
}

func certRows(cs []ra.CertInfo) [][]string {
	var rows [][]string
	for _, ci := range cs {
		rows = append(rows, []string{ci.Serial, ci.UserID, ci.Profile, ci.Role, ci.Status, ci.NotAfter.Format("2006-01-02")})
	}
	return rows
}

// writeOut writes data to path, or to stdout when path is "".
func writeOut(c *ucli.Context, path string, data []byte) error {
	if path == "" {
		_, err := c.App.Writer.Write(data)
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return withCode(ExitUsage, err)
	}
	return nil
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
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return withCode(ExitUsage, err)
			}
			keyPEM, csrPEM, err := newOfficerKey()
			if err != nil {
				return err
			}
			if err := writeNew(credential.KeyPath(dir), keyPEM, 0o600); err != nil {
				return err
			}
			csrPath := filepath.Join(dir, "officer.csr")
			if err := writeNew(csrPath, csrPEM, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "key written to %s/key.pem; send %s to the officer who appoints you\n", dir, csrPath)
			return nil
		},
	}
}

// writeNew creates path with data, refusing to replace an existing file.
func writeNew(path string, data []byte, mode os.FileMode) error {
	if err := durable.WriteNew(path, data, mode); err != nil {
		return withCode(ExitUsage, err)
	}
	return nil
}
