package demo

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/smki/smki/ra/adtfile"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/raclient"

	"github.com/smki/smki/bundle"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/ra/devicefile"
	"github.com/smki/smki/role"
	"github.com/smki/smki/testpki"
)

func (d *night) stepServe(ctx context.Context, s *Step) error {
	start := d.clock()
	srv, err := startServer(ctx, d.o.Exe, d.data, d.work, d.o.ReadyTimeout)
	if err != nil {
		return err
	}
	d.srv, d.url = srv, "https://"+srv.addr
	cfg, err := tlsTrusting(filepath.Join(d.data, "access", "access-root.pem"))
	if err != nil {
		return err
	}
	d.public = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	d.clients = map[string]*raclient.Client{}
	health, err := d.get(ctx, "/healthz")
	if err != nil {
		return err
	}
	s.Detail = fmt.Sprintf("%s ready in %.1fs", d.url, d.clock().Sub(start).Seconds())
	s.Lines = []string{"healthz: " + strings.TrimSpace(string(health)),
		"bootstrap credentials: DATA/officers/admin (ra-operator), DATA/officers/approver (ra-approver)"}
	return nil
}

func (d *night) stepParties(ctx context.Context, s *Step) error {
	op, err := d.as("admin")
	if err != nil {
		return err
	}
	rows := [][]string{{"party", "ID", "user", "role"}}
	for _, p := range []struct {
		party testpki.Party
		user  testpki.User
	}{{partyA, userA}, {partyB, userB}, {partySRP, userSC}} {
		if _, err := op.CreateParty(ctx, p.party.ID, p.party.Name); err != nil {
			return fmt.Errorf("party %s: %w", p.party.Name, err)
		}
		if _, err := op.CreateUser(ctx, p.user.ID, p.party.ID, p.user.Role, p.user.Name); err != nil {
			return fmt.Errorf("user %s: %w", p.user.Name, err)
		}
		rows = append(rows, []string{p.party.Name, p.party.ID.String(), p.user.ID.String(), string(p.user.Role)})
	}
	// R3: what SC may send is data. Setting it explicitly shows where.
	al, err := op.SetAllowList(ctx, role.SoLRContingency, []string{"1.6"})
	if err != nil {
		return fmt.Errorf("SC allow-list: %w", err)
	}
	if !slices.Equal(al.SRVs, []string{"1.6"}) {
		return fmt.Errorf("SC allow-list reads back as %v", al.SRVs)
	}
	s.Detail = "3 parties, 3 users; SC allow-list = [1.6]"
	s.Lines = table(rows)
	return nil
}

// officers of the night: who appoints whom.
var officerPlan = []struct {
	id, name, kind string
	party          testpki.Party // zero for RA officers
	by             string
}{
	{"supa-sro", "Ann Bee", ra.KindSRO, partyA, "admin"},
	{"supb-sro", "Bo Dee", ra.KindSRO, partyB, "admin"},
	{"srp1-sro", "Sam Roe", ra.KindSRO, partySRP, "admin"},
	{"supa-aro", "Ada Ell", ra.KindARO, partyA, "supa-sro"},
	{"supb-aro", "Ben Ott", ra.KindARO, partyB, "supb-sro"},
	{"srp1-aro", "Al Roe", ra.KindARO, partySRP, "srp1-sro"},
	{"liaison", "Lee Ayson", ra.KindAuthorityLiaison, testpki.Party{}, "admin"},
	{"verifier-1", "Command-path verifier", ra.KindVerifier, testpki.Party{}, "admin"},
}

func (d *night) stepOfficers(ctx context.Context, s *Step) error {
	rows := [][]string{{"officer", "kind", "party", "appointed by"}}
	for _, p := range officerPlan {
		by, err := d.as(p.by)
		if err != nil {
			return err
		}
		// Each officer makes their own key, as `smki officer keygen` does;
		// the appointer sends only the CSR, so no one else ever holds it
		// (the server runs with --require-officer-csr).
		csr, err := ownOfficerKey(d.officerDir(p.id))
		if err != nil {
			return err
		}
		o, cred, err := by.AppointOfficer(ctx, ra.OfficerRequest{ID: p.id, Name: p.name, Kind: p.kind, PartyID: p.party.ID, CSR: csr})
		if err != nil {
			return fmt.Errorf("%s appointing %s: %w", p.by, p.id, err)
		}
		if err := ownpki.WriteCredential(d.officerDir(p.id), cred); err != nil {
			return err
		}
		party := p.party.Name
		if party == "" {
			party = "(RA)"
		}
		rows = append(rows, []string{o.ID, o.Kind, party, o.AppointedBy})
	}
	// The bootstrap approver replaces the key serve --dev made for it with
	// one it makes, as smki officer renew does: the RA approves SoLR events
	// only from a credential whose key its holder made (four-eyes).
	ap, err := d.as("approver")
	if err != nil {
		return err
	}
	own := filepath.Join(d.work, "officers", "approver")
	csr, err := ownOfficerKey(own)
	if err != nil {
		return err
	}
	if _, cred, err := ap.RenewOfficerCredential(ctx, "approver", csr); err != nil {
		return fmt.Errorf("approver renewing its credential: %w", err)
	} else if err := ownpki.WriteCredential(own, cred); err != nil {
		return err
	}
	delete(d.clients, "approver")
	s.Detail = fmt.Sprintf("%d officers, each with an mTLS credential for a key they generated (the RA certified CSRs only; the bootstrap approver renewed with its own)", len(officerPlan))
	s.Lines = table(rows)
	return nil
}

// ownOfficerKey writes a fresh P-256 key to dir/key.pem and returns a PEM
// CSR for it.
func ownOfficerKey(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(credential.KeyPath(dir), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return "", err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})), nil
}

// demoDevices is the registry: the first perSupplier of testpki's devices
// of each supplier (their SMETS generations alternate).
const perSupplier = 12

func (d *night) stepDevices(ctx context.Context, s *Step) error {
	var rows []devicefile.Row
	smets := map[int]int{}
	d.smets = map[eui64.ID]int{}
	for _, dev := range testpki.Devices() {
		switch {
		case dev.Supplier == userA.ID && len(d.devA) < perSupplier:
			d.devA = append(d.devA, dev.ID)
		case dev.Supplier == userB.ID && len(d.devB) < perSupplier:
			d.devB = append(d.devB, dev.ID)
		default:
			continue
		}
		smets[dev.SMETS]++
		d.smets[dev.ID] = dev.SMETS
		rows = append(rows, devicefile.Row{Device: dev.ID, SupplierUser: dev.Supplier, SMETS: dev.SMETS})
	}
	csv, err := devicefile.Format(rows)
	if err != nil {
		return err
	}
	file := filepath.Join(d.work, "devices.csv")
	if err := os.WriteFile(file, csv, 0o600); err != nil {
		return err
	}
	op, err := d.as("admin")
	if err != nil {
		return err
	}
	res, err := op.ImportDevices(ctx, csv)
	if err != nil {
		return err
	}
	if want := len(d.devA) + len(d.devB); res.Devices != want || res.Added != want {
		return fmt.Errorf("imported %+v, want %d new devices", res, want)
	}
	if smets[1] == 0 || smets[2] == 0 {
		return fmt.Errorf("the registry must hold SMETS1 and SMETS2 devices, has %v", smets)
	}
	s.Detail = fmt.Sprintf("%d devices: %d supplier-a, %d supplier-b; %d SMETS1, %d SMETS2",
		res.Devices, len(d.devA), len(d.devB), smets[1], smets[2])
	s.Lines = []string{"file: " + file}
	return nil
}

// enrol makes a key and CSR in-process and has officer submit it.
func (d *night) enrol(ctx context.Context, officer string, u testpki.User, p ca.Profile) (identity, ra.CertInfo, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return identity{}, ra.CertInfo{}, err
	}
	csr, err := ra.NewCSR(key, u.ID, u.Role, p, u.Name)
	if err != nil {
		return identity{}, ra.CertInfo{}, err
	}
	cl, err := d.as(officer)
	if err != nil {
		return identity{}, ra.CertInfo{}, err
	}
	is, err := cl.Enrol(ctx, ra.EnrolRequest{UserID: u.ID, Profile: p, CSR: csr, Mode: ra.ModeEnrol})
	if err != nil {
		return identity{}, ra.CertInfo{}, fmt.Errorf("%s enrolling %s %s: %w", officer, u.Name, p, err)
	}
	certs, err := dccx509.ParsePEM(is.CertPEM)
	if err != nil {
		return identity{}, ra.CertInfo{}, err
	}
	return identity{label: u.Name, id: u.ID, key: key, cert: certs[0]}, is.Cert, nil
}

func (d *night) stepSupplierCerts(ctx context.Context, s *Step) error {
	rows := [][]string{{"user", "profile", "serial", "by"}}
	var ci ra.CertInfo
	var err error
	if d.supA, ci, err = d.enrol(ctx, "supa-aro", userA, ca.XMLSigning); err != nil {
		return err
	}
	d.certsA = append(d.certsA, ci.Serial)
	rows = append(rows, []string{userA.Name, string(ca.XMLSigning), ci.Serial, "supa-aro"})
	// Supplier-a's digital-signing key is what its meters trust for
	// Critical Commands; it is revoked with the rest.
	if _, ci, err = d.enrol(ctx, "supa-aro", userA, ca.DigitalSigning); err != nil {
		return err
	}
	d.certsA = append(d.certsA, ci.Serial)
	rows = append(rows, []string{userA.Name, string(ca.DigitalSigning), ci.Serial, "supa-aro"})
	if d.supB, ci, err = d.enrol(ctx, "supb-aro", userB, ca.XMLSigning); err != nil {
		return err
	}
	rows = append(rows, []string{userB.Name, string(ca.XMLSigning), ci.Serial, "supb-aro"})
	s.Detail = "supplier-a: xml-signing + digital-signing; supplier-b: xml-signing"
	s.Lines = table(rows)
	return nil
}

func (d *night) stepSRPEnrol(ctx context.Context, s *Step) error {
	key, csr, cert := filepath.Join(d.work, "sc-xml.key"), filepath.Join(d.work, "sc-xml.csr"), filepath.Join(d.work, "sc-xml.pem")
	aro := d.officerDir("srp1-aro")
	cmds := [][]string{
		{"keygen", "--out", key},
		{"csr", "--key", key, "--user-id", userSC.ID.String(), "--profile", "xml-signing", "--cn", userSC.Name, "--out", csr},
		{"enroll", "--ra", d.url, "--officer", aro, "--user-id", userSC.ID.String(), "--profile", "xml-signing", "--csr", csr, "--out", cert},
	}
	for _, args := range cmds {
		r, err := d.mustCLI(ctx, args...)
		if err != nil {
			return err
		}
		s.Lines = append(s.Lines, "$ smki "+strings.Join(shorten(args, d.work), " "))
		if out := strings.TrimSpace(r.stdout + r.stderr); out != "" {
			s.Lines = append(s.Lines, "  "+out)
		}
	}
	k, err := credential.LoadKey(key)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(cert)
	if err != nil {
		return err
	}
	certs, err := dccx509.ParsePEM(b)
	if err != nil {
		return err
	}
	roles, err := role.FromCertificate(certs[0])
	if err != nil {
		return fmt.Errorf("the SC certificate's role binding: %w", err)
	}
	if !slices.Equal(roles, []role.UserRole{role.SoLRContingency}) {
		return fmt.Errorf("the SC certificate is bound to %v, want exactly [SC]", roles)
	}
	d.sc = identity{label: userSC.Name, id: userSC.ID, key: k, cert: certs[0]}
	s.Detail = fmt.Sprintf("%s holds an xml-signing certificate (OU=%s, smkiUserRole=[SC])", userSC.Name, firstOU(certs[0].Subject.OrganizationalUnit))
	return nil
}

func firstOU(ous []string) string {
	if len(ous) == 0 {
		return "?"
	}
	return ous[0]
}

// shorten replaces the work directory in args for display.
func shorten(args []string, work string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, work+string(filepath.Separator), "")
	}
	return out
}

func (d *night) stepNotEligible(ctx context.Context, s *Step) error {
	key, csr := filepath.Join(d.work, "sc-ds.key"), filepath.Join(d.work, "sc-ds.csr")
	if _, err := d.mustCLI(ctx, "keygen", "--out", key); err != nil {
		return err
	}
	// The CLI refuses to even write the CSR...
	local := []string{"csr", "--key", key, "--user-id", userSC.ID.String(), "--profile", "digital-signing", "--role", "SC", "--out", csr}
	// ...and the RA refuses the request whatever CSR comes with it.
	remote := []string{"enroll", "--ra", d.url, "--officer", d.officerDir("srp1-aro"), "--user-id", userSC.ID.String(),
		"--profile", "digital-signing", "--csr", filepath.Join(d.work, "sc-xml.csr")}
	for _, args := range [][]string{local, remote} {
		r, err := d.cli(ctx, args...)
		if err != nil {
			return err
		}
		msg := strings.TrimSpace(r.stderr)
		if r.code == 0 || !strings.Contains(msg, ra.ErrNotEligible.Error()) {
			return fmt.Errorf("smki %s: exit %d, %q; want a refusal %s", args[0], r.code, msg, ra.ErrNotEligible)
		}
		s.Lines = append(s.Lines, "$ smki "+strings.Join(shorten(args, d.work), " "), fmt.Sprintf("  exit %d: %s", r.code, msg))
	}
	s.Detail = "refused by the CLI and by the RA: " + ra.ErrNotEligible.Error()
	return nil
}

// ADT thresholds of the demo: low, so that quarantine (AD1) can be shown
// in a handful of requests.
const (
	adtWarning    = 3
	adtQuarantine = 5
)

func (d *night) stepADT(ctx context.Context, s *Step) error {
	f := adtfile.File{Format: adtfile.Format, SCUser: userSC.ID.String(), SupplierUser: userA.ID.String(),
		Thresholds: []adtfile.Threshold{{SRV: "1.6", Period: bundle.Duration(time.Hour), Warning: adtWarning, Quarantine: adtQuarantine}}}
	file, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(d.work, "adt.json"), file, 0o600); err != nil {
		return err
	}
	key, err := credential.LoadKey(credential.KeyPath(d.officerDir("srp1-aro")))
	if err != nil {
		return err
	}
	sig, err := adtfile.Sign(key, file)
	if err != nil {
		return err
	}
	// Someone else's officer cannot submit it for the SRP: for them, the
	// SRP's SC user is not there (another party's record, docs/api.md).
	other, err := d.as("supa-aro")
	if err != nil {
		return err
	}
	otherKey, err := credential.LoadKey(credential.KeyPath(d.officerDir("supa-aro")))
	if err != nil {
		return err
	}
	otherSig, err := adtfile.Sign(otherKey, file)
	if err != nil {
		return err
	}
	_, err = other.SubmitADT(ctx, file, otherSig)
	if err := refused(err, ra.ErrNotFound); err != nil {
		return fmt.Errorf("supplier-a's ARO submitting the SRP's ADT file: %w", err)
	}
	aro, err := d.as("srp1-aro")
	if err != nil {
		return err
	}
	rec, err := aro.SubmitADT(ctx, file, sig)
	if err != nil {
		return err
	}
	s.Detail = fmt.Sprintf("SC %s over supplier %s: SRV 1.6, warning %d, quarantine %d per hour",
		userSC.ID, userA.ID, adtWarning, adtQuarantine)
	s.Lines = []string{"adt.json: " + string(file),
		"signed by srp1-aro (ECDSA P-256, SHA-256, DER); sha256 " + rec.SHA256,
		"the same file from supplier-a's ARO: refused " + ra.ErrNotFound.Error() + " (another party's SC user is not there for them)"}
	return nil
}

// userByID names a user of the cast for reports.
func userName(id eui64.ID) string {
	for _, u := range []testpki.User{userA, userB, userSC} {
		if u.ID == id {
			return u.Name
		}
	}
	return id.String()
}
