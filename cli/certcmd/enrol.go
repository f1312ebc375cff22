package certcmd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/durable"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/raclient"
	"github.com/smki/smki/role"
)

// KeygenCommand is smki keygen: a P-256 key for a certificate.
func KeygenCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "keygen",
		Usage: "generate an ECDSA P-256 private key (PKCS#8 PEM, mode 0600) in a new file, synced to disk: never over an existing file or through a symlink, and nothing left if writing fails",
		Description: "The key file is created new (never over an existing file, never through a symlink) and synced to\n" +
			"disk before smki says it is written; if writing it fails, no file is left behind.\n\nExample:\n   smki keygen --out sc-xml.key",
		Flags: []ucli.Flag{&ucli.StringFlag{Name: "out", Usage: "key file to create", Required: true}},
		Action: func(c *ucli.Context) error {
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				return err
			}
			der, err := x509.MarshalPKCS8PrivateKey(key)
			if err != nil {
				return err
			}
			out := c.String("out")
			// Created exclusively (never over an existing file, never through
			// a symlink) and synced, or removed: the key is whole or absent.
			if err := durable.WriteNew(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
				return keyWriteErr(out, err)
			}
			fmt.Fprintf(c.App.ErrWriter, "P-256 key written to %s\n", out)
			return nil
		},
	}
}

// keyWriteErr is why keygen wrote no key at out, in smki's words: a usage
// error (exit 2) when the file could not be created (it exists, or its
// directory is missing or closed to us), a failure (exit 1) when writing
// or syncing it failed, after which nothing is left at out.
func keyWriteErr(out string, err error) error {
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrExist):
		return verb.UsageErr("%s exists: smki keygen never replaces a file; name a new one with --out", out)
	case errors.As(err, &pe) && pe.Op == "open":
		return verb.UsageErr("%s could not be created: %s", out, verb.IOReason(err))
	}
	return verb.WithCode(verb.ExitError, fmt.Errorf("%s could not be written: %s; no key was left there, run smki keygen again", out, verb.IOReason(err)))
}

// CSRCommand is smki csr: a PKCS#10 request with the subject the RA expects.
func CSRCommand() *ucli.Command {
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
			id, err := verb.EUIFlag(c, "user-id", true)
			if err != nil {
				return err
			}
			p, err := ca.ParseProfile(c.String("profile"))
			if err != nil {
				return verb.UsageErr("--profile: %v", err)
			}
			r := role.OtherUser // xml-signing's OU (87) does not depend on the role
			if s := c.String("role"); s != "" {
				if r, err = role.Parse(s); err != nil {
					return verb.UsageErr("--role: %v", err)
				}
			} else if p != ca.XMLSigning {
				return verb.UsageErr("--role is required for %s", p)
			}
			key, err := credential.LoadKey(c.String("key"))
			if err != nil {
				return verb.WithCode(verb.ExitUsage, err)
			}
			csr, err := ra.NewCSR(key, id, r, p, c.String("cn"))
			switch {
			case errors.Is(err, ra.ErrNotEligible):
				// The RA's refusal, made here: the exit status smki enroll gives it.
				return verb.WithCode(verb.ExitReject, err)
			case errors.Is(err, ca.ErrKeyAlgorithm):
				// A wrong --key file, as smki enroll finds a CSR of one (readCSR).
				return verb.WithCode(verb.ExitUsage, err)
			case err != nil:
				return err
			}
			return verb.WriteOut(c, c.String("out"), csr)
		},
	}
}

// EnrollCommand is smki enroll: a CSR certified by the RA.
func EnrollCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "enroll",
		Usage: "submit a CSR to the RA and write the issued certificate",
		Description: `An SRO or ARO of the user's party submits; the RA checks the role -> profile
eligibility (SC gets xml-signing only), the subject, and that the key was never
certified for another user. --csr is PEM or DER (openssl req -outform DER),
from a file or - (stdin). A CSR whose subject does not name --user-id (its
x500UniqueIdentifier) is refused before anything is sent, as the RA refuses it:
E_RA_CSR_MISMATCH, exit 3, with the smki csr that makes the right one. The issued certificate is written to --out, or as PEM
to stdout; with --json, stdout is the certificate record with its "pem".

Sending the same command again is safe: if its first answer was lost (a
timeout after the RA issued), the RA refuses the repeat (E_RA_KEY_REUSE for an
enrol, E_RA_REPLACES_MISMATCH for a renew or rekey), and smki enroll then writes
the certificate already issued for the CSR's key (of this user and profile,
good, and for renew or rekey issued since --replaces), saying so on stderr, and
exits 0. When the key's certificates do not say which one was meant, the
refusal stands and names their serials for smki cert get.

Replacing a certificate (before it expires, or to change the key): --mode renew
certifies the same key again, --mode rekey a new key (a new smki keygen and smki
csr); both name the user's current certificate with --replaces SERIAL (smki certs
--user ID --status good). A certificate is replaced once. The replaced certificate
is not revoked: it stays good, so the signer keeps working until the new one is
installed; then revoke it (smki revoke --serial OLD --reason superseded).

Examples:
   smki enroll --ra https://127.0.0.1:8443 --officer ./srp1-aro --user-id 90-B3-D5-1F-30-05-00-00 \
       --profile xml-signing --csr sc-xml.csr --out sc-xml.pem
   smki enroll --officer ./srp1-aro --user-id 90-B3-D5-1F-30-05-00-00 --profile xml-signing \
       --csr sc-xml-new.csr --mode rekey --replaces 5f3a... --out sc-xml-new.pem`,
		Flags: verb.ClientFlagsWith(
			&ucli.StringFlag{Name: "user-id", Usage: "User ID (EUI-64)", Required: true},
			&ucli.StringFlag{Name: "profile", Usage: "certificate profile", Required: true},
			&ucli.StringFlag{Name: "csr", Usage: "CSR `FILE` (PEM or DER, told by content), or - for stdin", Required: true},
			&ucli.StringFlag{Name: "out", Usage: "certificate file (default: the PEM on stdout; with --json, in the JSON's pem)"},
			&ucli.StringFlag{Name: "mode", Usage: "enrol (a key never certified), renew (the same key as --replaces) or rekey (a new key replacing --replaces)", Value: "enrol"},
			&ucli.StringFlag{Name: "replaces", Usage: "with renew or rekey: `SERIAL` of the user's current certificate (smki certs --user ID); it stays good until you revoke it"},
		),
		Action: func(c *ucli.Context) error {
			id, err := verb.EUIFlag(c, "user-id", true)
			if err != nil {
				return err
			}
			// The certificate is issued once: make sure it can be kept
			// before asking for it.
			if err := verb.CheckOut("out", c.String("out")); err != nil {
				return err
			}
			profile, err := ca.ParseProfile(c.String("profile"))
			if err != nil {
				return verb.UsageErr("--profile: %v; nothing was sent", err)
			}
			mode, replaces, err := enrolMode(c.String("mode"), c.String("replaces"), id)
			if err != nil {
				return err
			}
			csr, parsed, err := readCSR(c, c.String("csr"))
			if err != nil {
				return err
			}
			// A CSR made for another user is the RA's refusal (the same
			// check, the same code and exit status), found here.
			if err := ra.CheckCSRUserID(parsed, id, profile); err != nil {
				return verb.WithCode(verb.ExitReject, fmt.Errorf("%w; nothing was sent", err))
			}
			var is ra.Issued
			return verb.Call(c, func(cl *raclient.Client) (ra.CertInfo, error) {
				req := ra.EnrolRequest{UserID: id, Profile: profile, CSR: csr,
					Mode: mode, Replaces: replaces}
				var err error
				if is, err = cl.Enrol(c.Context, req); raclient.MayHaveActed(err) {
					return ra.CertInfo{}, fmt.Errorf("%w. If the RA received it, the certificate may have been issued: "+
						"run the same command again (smki enroll then writes the certificate already issued for this CSR)", err)
				} else if err != nil {
					// Sent again after a lost answer? Hand over what the
					// first attempt was issued (resend.go).
					prev, ok, err := alreadyIssued(c.Context, cl, req, err)
					if !ok {
						return ra.CertInfo{}, err
					}
					fmt.Fprintf(c.App.ErrWriter, "smki: the RA had already issued certificate %s for this CSR's key to user %s (%s): "+
						"an earlier attempt whose answer was lost, or the same request sent twice; that certificate is written as issued\n",
						prev.Serial, prev.UserID, prev.Profile)
					is = ra.Issued{Cert: prev, CertPEM: []byte(prev.PEM)}
				}
				// With --json the certificate itself travels in the JSON:
				// nothing is lost without --out.
				cert := is.Cert
				cert.PEM = string(is.CertPEM)
				if err := savePEM(c, is.CertPEM); err != nil {
					// The RA acted: a failure (exit 1), as E_CREDENTIAL_UNSAVED.
					return cert, verb.WithCode(verb.ExitError, fmt.Errorf("certificate %s was issued, but %w; fetch it with smki cert get --serial %s --out FILE",
						cert.Serial, err, cert.Serial))
				}
				return cert, nil
			}, func(ra.CertInfo) error {
				if replaces != "" {
					// Replaced is not revoked: the SRP's signer still uses the old one.
					fmt.Fprintf(c.App.ErrWriter, "smki: %s stays good: the certificate this one replaces is not revoked; "+
						"once the new one is installed, revoke it with smki revoke --serial %s --reason superseded\n", replaces, replaces)
				}
				if c.String("out") == "" {
					return stdoutPEM(c, is.CertPEM)
				}
				_, err := fmt.Fprintf(c.App.Writer, "issued %s serial %s to %s\n", is.Cert.Profile, is.Cert.Serial, c.String("out"))
				return err
			})
		},
	}
}

// enrolMode checks --mode and --replaces of smki enroll before anything
// is sent: a renew or rekey names the certificate it replaces, an enrol
// none. id is the user, for where to find the serial.
func enrolMode(mode, replaces string, id eui64.ID) (ra.EnrolMode, string, error) {
	switch m := ra.EnrolMode(mode); m {
	case ra.ModeEnrol:
		if replaces != "" {
			return m, "", verb.UsageErr("--replaces %s is for --mode renew (the same key) or --mode rekey (a new key); "+
				"an enrol replaces nothing; nothing was sent", replaces)
		}
		return m, "", nil
	case ra.ModeRenew, ra.ModeRekey:
		if replaces == "" {
			return m, "", verb.UsageErr("--mode %s needs --replaces SERIAL, the user's certificate it replaces "+
				"(smki certs --user %s --status good lists them); nothing was sent", m, id)
		}
		return m, replaces, nil
	}
	return "", "", verb.UsageErr("--mode %q: want enrol, renew or rekey; nothing was sent", mode)
}

// CertsCommand is smki certs: the RA's list of certificates.
func CertsCommand() *ucli.Command {
	return &ucli.Command{
		Name:        "certs",
		Usage:       "list Organisation Certificates",
		Description: "Example:\n   smki certs --party 90-B3-D5-1F-30-00-00-0A --status good",
		Flags: verb.ClientFlagsWith(
			&ucli.StringFlag{Name: "user", Usage: "User ID"},
			&ucli.StringFlag{Name: "party", Usage: "Party ID"},
			&ucli.StringFlag{Name: "status", Usage: "good or revoked"},
			&ucli.IntFlag{Name: "limit", Usage: "at most this many"},
		),
		Action: func(c *ucli.Context) error {
			user, party, err := userAndParty(c)
			if err != nil {
				return err
			}
			return verb.Call(c, func(cl *raclient.Client) ([]ra.CertInfo, error) {
				return cl.ListCertificates(c.Context, ra.CertQuery{UserID: user, PartyID: party, Status: c.String("status"), Limit: c.Int("limit")})
			}, verb.Each(c, CertHeader, certRow))
		},
	}
}

// CertHeader and CertRows are a list of certificates as a table (smki
// certs, revoke, and the dry run of smki solr).
const CertHeader = "SERIAL\tUSER\tPROFILE\tROLE\tSTATUS\tNOT AFTER"

// CertRows is cs as rows under CertHeader.
func CertRows(cs []ra.CertInfo) [][]string { return verb.Rows(cs, certRow) }

func certRow(ci ra.CertInfo) []string {
	return []string{ci.Serial, ci.UserID, ci.Profile, ci.Role, ci.Status, ci.NotAfter.Format("2006-01-02")}
}

// userAndParty reads the optional --user and --party of smki certs and
// smki revoke.
func userAndParty(c *ucli.Context) (user, party eui64.ID, err error) {
	if user, err = verb.EUIFlag(c, "user", false); err != nil {
		return user, party, err
	}
	party, err = verb.EUIFlag(c, "party", false)
	return user, party, err
}
