package demo

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/raclient"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/testpki"
	"github.com/smki/smki/verifier"
)

// The cast. IDs are testpki's scenario IDs, so the demo's parties, users
// and devices read the same as the test PKI's and the docs' examples.
var (
	partyA   = testpki.SupplierA // the failing Supplier
	partyB   = testpki.SupplierB // a healthy Supplier
	partySRP = testpki.SRP       // the Shared Resource Provider
	userA    = mustUser("supplier-a-xml")
	userB    = mustUser("supplier-b-xml")
	userSC   = mustUser("srp-sc-xml")
)

func mustUser(name string) testpki.User {
	u, err := testpki.UserByName(name)
	if err != nil {
		panic(err)
	}
	return u
}

// identity is a User ID with its signing key and certificate.
type identity struct {
	label string
	id    eui64.ID
	key   crypto.Signer
	cert  *x509.Certificate
}

// night is the demo's state, built up step by step.
type night struct {
	o     Options
	clock func() time.Time
	data  string // the server's data directory
	work  string // credentials, keys, CSRs, device file
	rep   *reporter

	srv    *server
	url    string       // https://127.0.0.1:port
	public *http.Client // trusts the RA's TLS root, no client certificate

	clients map[string]*raclient.Client // by officer ID
	supA    identity                    // supplier-a's xml-signing user
	supB    identity
	sc      identity
	devA    []eui64.ID // devices registered to supplier-a's user
	devB    []eui64.ID
	smets   map[eui64.ID]int // SMETS generation of each registered device
	certsA  []string         // serials of supplier-a's certificates

	eventID  string
	revokeAt time.Time

	v          *verifier.Verifier
	follower   *verifier.Follower
	feed       chan uint64 // revocation sequence after each applied feed page
	stopFollow context.CancelFunc
	followDone chan struct{}
	bundleSeq  uint64
	// inBundle: the first bundle already listed supplier-a's revocations
	// (a slow machine let revoke-at pass before the verifier started).
	inBundle bool
	counters map[eui64.ID]uint64
	stream   []StreamCase
}

// script is the night, in order. Each step depends on the ones before it,
// so the first failure ends the run.
func (d *night) script() []step {
	return []step{
		{"Start smki serve --dev on loopback (child process of this binary)", d.stepServe},
		{"RA set-up by the RA operator: parties, users, SC allow-list", d.stepParties},
		{"Officers: SROs by the operator, AROs by their SROs, authority liaison, verifier credential", d.stepOfficers},
		{"Device registry imported (devices.csv)", d.stepDevices},
		{"Suppliers' certificates enrolled by their AROs", d.stepSupplierCerts},
		{"SRP enrolment through the CLI: smki keygen, smki csr, smki enroll", d.stepSRPEnrol},
		{"SC may never hold digital-signing: refused E_RA_NOT_ELIGIBLE", d.stepNotEligible},
		{"ADT file signed and submitted by the SRP's ARO", d.stepADT},
		{"Authority instruction declared by the authority liaison (dry run)", d.stepDeclare},
		{"Four-eyes: the declarer may not approve (E_RA_FOUR_EYES)", d.stepFourEyes},
		{"Second person approves; revocation scheduled", d.stepApprove},
		{"Verifier: signed bundle, SMKI roots, ORL, feed follower over mTLS", d.stepVerifier},
		{"Failed Supplier revoked at its scheduled time; revocations arrive live", d.stepRevocation},
		{"Stream of signed Service Requests through the verifier", d.stepStream},
		{"DCC Alerts routed during the event (R7)", d.stepAlerts},
		{"Event closed; new bundle; default deny restored (E4)", d.stepClose},
		{"Audit chain verified through the API", d.stepAudit},
	}
}

// shutdown stops the follower and the server; safe to call again.
func (d *night) shutdown() error {
	if d.stopFollow != nil {
		d.stopFollow()
		<-d.followDone
		d.stopFollow = nil
	}
	if d.srv == nil {
		return nil
	}
	return d.srv.stop(15 * time.Second)
}

// officerDir is where officer id's credential lives.
func (d *night) officerDir(id string) string {
	switch id {
	case "admin": // bootstrap credential of `serve --dev`
		return filepath.Join(d.data, "officers", id)
	case "approver": // bootstrap, until it renews with its own key (stepOfficers)
		if _, err := os.Stat(credential.CertPath(filepath.Join(d.work, "officers", id))); err != nil {
			return filepath.Join(d.data, "officers", id)
		}
	}
	return filepath.Join(d.work, "officers", id)
}

// as returns the RA client of officer id.
func (d *night) as(id string) (*raclient.Client, error) {
	if c, ok := d.clients[id]; ok {
		return c, nil
	}
	c, err := raclient.NewClient(d.url, d.officerDir(id))
	if err != nil {
		return nil, err
	}
	d.clients[id] = c
	return c, nil
}

// get fetches a public endpoint (roots, CRLs).
func (d *night) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := d.public.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d: %.200s", path, resp.StatusCode, b)
	}
	return b, nil
}

// cliResult is one run of the smki CLI as a child process.
type cliResult struct {
	stdout, stderr string
	code           int
}

// cli runs this binary with args, as an operator at a shell would.
func (d *night) cli(ctx context.Context, args ...string) (cliResult, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.o.Exe, args...)
	cmd.Env = childEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliResult{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		return r, fmt.Errorf("running smki %s: %w", strings.Join(args, " "), err)
	}
	return r, nil
}

// mustCLI is cli that requires exit 0.
func (d *night) mustCLI(ctx context.Context, args ...string) (cliResult, error) {
	r, err := d.cli(ctx, args...)
	if err == nil && r.code != 0 {
		err = fmt.Errorf("smki %s: exit %d: %s", args[0], r.code, strings.TrimSpace(r.stderr+r.stdout))
	}
	return r, err
}

// refused checks that err is the RA's refusal with code.
func refused(err error, code error) error {
	if err == nil {
		return fmt.Errorf("expected %v, but the RA allowed it", code)
	}
	if !errors.Is(err, code) {
		return fmt.Errorf("expected %v, got %v", code, err)
	}
	return nil
}

// codeOf is the stable code of an RA error, for reports.
func codeOf(err error) string {
	var ae *raclient.APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ra.CodeOf(err)
}

// tlsTrusting returns a TLS configuration that trusts only the PEM
// certificates in file (the RA's access root).
func tlsTrusting(file string) (*tls.Config, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no certificate", file)
	}
	return &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool}, nil
}
