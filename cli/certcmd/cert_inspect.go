package certcmd

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/raclient"
	"github.com/smki/smki/role"
	"github.com/smki/smki/verifier"
)

// certView is the SMKI view of an Organisation Certificate (smki cert
// inspect --json).
type certView struct {
	Profile   string   `json:"profile"`
	Roles     []string `json:"roles"`
	RoleNames []string `json:"role_names"`
	UserID    string   `json:"user_id"`
	PartyID   string   `json:"party_id,omitempty"` // with --ra: the RA's record
	OU        string   `json:"ou"`
	// RemotePartyRole names OU's Remote Party Role code ("xmlSign").
	RemotePartyRole string    `json:"remote_party_role,omitempty"`
	KeyUsage        []string  `json:"key_usage"`
	NotBefore       time.Time `json:"not_before"`
	NotAfter        time.Time `json:"not_after"`
	Serial          string    `json:"serial"`
	Issuer          string    `json:"issuer"`
	SKID            string    `json:"skid"`
	AKID            string    `json:"akid"`
	Status          string    `json:"status,omitempty"` // with --ra
	Problems        []string  `json:"problems,omitempty"`
}

func certInspectCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "inspect",
		Usage:     "print the SMKI view of an Organisation Certificate (PEM or DER, FILE or -)",
		ArgsUsage: "FILE|-",
		Description: `Profile (from OU and key usage), User Role(s) (from the smkiUserRole
attribute), User ID (x500UniqueIdentifier, as EUI-64), key usage, validity,
serial, SKID and AKID. With --ra (and --officer) also the RA's status and the
user's Party ID. Reads smki's certificates and DCC's test certificates alike.

Example:
   smki cert inspect sc-xml.pem
   smki cert get --serial 5f3a... | smki cert inspect --ra https://127.0.0.1:8443 --officer ./srp1-aro -`,
		Flags: verb.ClientFlags(),
		Action: func(c *ucli.Context) error {
			data, err := verb.ReadInput(c)
			if err != nil {
				return err
			}
			cert, err := parseOneCert(data)
			if err != nil {
				return verb.UsageErr("%s: %v", c.Args().First(), err)
			}
			view := inspectCert(cert)
			if c.String("ra") != "" || c.String("officer") != "" || c.String("config") != "" {
				err := verb.WithClient(c, func(cl *raclient.Client) error {
					ci, err := cl.GetCertificate(c.Context, view.Serial)
					if err != nil {
						return err
					}
					view.Status, view.PartyID = ci.Status, ci.PartyID
					if len(view.Roles) == 0 && ci.Role != "" {
						view.Roles, view.RoleNames = []string{ci.Role}, []string{role.UserRole(ci.Role).Name() + ", the RA's record"}
					}
					return nil
				})
				if err != nil {
					return err
				}
			}
			if c.Bool("json") {
				return verb.PrintJSON(c, view)
			}
			printCertView(c.App.Writer, view)
			return nil
		},
	}
}

// parseOneCert reads the first certificate of PEM, or a DER certificate.
func parseOneCert(data []byte) (*x509.Certificate, error) {
	if strings.HasPrefix(strings.TrimSpace(string(data)), "-----BEGIN") {
		cs, err := dccx509.ParsePEM(data)
		if err != nil {
			return nil, fmt.Errorf("no certificate that parses in the PEM")
		}
		return cs[0], nil
	}
	c, err := dccx509.ParseCertificate(data)
	if err != nil {
		return nil, fmt.Errorf("neither PEM nor a DER certificate that parses")
	}
	return c, nil
}

func inspectCert(c *x509.Certificate) certView {
	v := certView{NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), Serial: fmt.Sprintf("%032x", c.SerialNumber),
		Issuer: c.Issuer.String(), SKID: hex.EncodeToString(c.SubjectKeyId), AKID: hex.EncodeToString(c.AuthorityKeyId),
		Roles: []string{}, RoleNames: []string{}}
	if len(c.Subject.OrganizationalUnit) == 1 {
		v.OU = c.Subject.OrganizationalUnit[0]
		if rp, err := role.ParseRemotePartyRole(v.OU); err == nil {
			v.RemotePartyRole = rp.Name()
		}
	}
	for _, u := range []struct {
		bit  x509.KeyUsage
		name string
	}{{x509.KeyUsageDigitalSignature, "digitalSignature"}, {x509.KeyUsageKeyAgreement, "keyAgreement"},
		{x509.KeyUsageCertSign, "keyCertSign"}, {x509.KeyUsageCRLSign, "cRLSign"}} {
		if c.KeyUsage&u.bit != 0 {
			v.KeyUsage = append(v.KeyUsage, u.name)
		}
	}
	switch {
	case c.IsCA:
		v.Profile = "CA"
	case c.KeyUsage&x509.KeyUsageKeyAgreement != 0:
		v.Profile = "key-agreement"
	case v.OU == role.RPXMLSign.OU() || v.OU == role.RPDSPXMLSign.OU():
		v.Profile = "xml-signing"
	case c.KeyUsage&x509.KeyUsageDigitalSignature != 0:
		v.Profile = "digital-signing"
	default:
		v.Profile = "unknown"
	}
	if id, err := verifier.UserID(c); err == nil {
		v.UserID = id.String()
	} else if !c.IsCA {
		v.Problems = append(v.Problems, "no single 64-bit x500UniqueIdentifier: not an Organisation Certificate")
	}
	if rs, err := role.FromCertificate(c); err == nil {
		for _, r := range rs {
			v.Roles, v.RoleNames = append(v.Roles, string(r)), append(v.RoleNames, r.Name())
		}
	} else if !c.IsCA {
		v.Problems = append(v.Problems, "no smkiUserRole attribute: the User Role is then only the RA's record (--ra); DCC's test certificates carry none")
	}
	if v.Serial = strings.TrimLeft(v.Serial, "0"); v.Serial == "" {
		v.Serial = "0"
	}
	if len(v.Serial)%2 == 1 {
		v.Serial = "0" + v.Serial
	}
	return v
}

func printCertView(w io.Writer, v certView) {
	row := func(k, val string) {
		if val == "" {
			val = "-"
		}
		fmt.Fprintf(w, "%-11s %s\n", k+":", val)
	}
	row("profile", v.Profile)
	roles := make([]string, len(v.Roles))
	for i := range v.Roles {
		roles[i] = v.Roles[i] + " (" + v.RoleNames[i] + ")"
	}
	row("roles", strings.Join(roles, ", "))
	row("user id", v.UserID)
	row("party id", v.PartyID)
	ou := v.OU
	if v.RemotePartyRole != "" {
		ou += " (Remote Party Role " + v.RemotePartyRole + ")"
	}
	row("ou", ou)
	row("key usage", strings.Join(v.KeyUsage, ", "))
	row("valid", v.NotBefore.Format(time.RFC3339)+" to "+v.NotAfter.Format(time.RFC3339))
	row("serial", v.Serial)
	row("issuer", v.Issuer)
	row("skid", v.SKID)
	row("akid", v.AKID)
	if v.Status != "" {
		row("status", v.Status)
	}
	for _, p := range v.Problems {
		row("problem", p)
	}
}
