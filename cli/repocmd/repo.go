package repocmd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/opfile"
	"github.com/smki/smki/ocsp"
	"github.com/smki/smki/ra"
	"github.com/smki/smki/repo"
	ucli "github.com/urfave/cli/v2"
)

// relyingFlags are the flags of verbs a relying party runs against the
// public endpoints: no officer credential, only the server's URL and the
// root its TLS certificate chains to.
func relyingFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "ra", Usage: "server base `URL`, e.g. https://ra.example:8443", EnvVars: []string{"SMKI_RA_URL"}, Required: true},
		&ucli.StringFlag{Name: "tls-ca", Usage: "`PEM` root the server's TLS certificate chains to (smki serve: DATA/access/access-root.pem); default: the system roots"},
	}
}

// relyingClient is the HTTP client for relyingFlags.
func relyingClient(c *ucli.Context) (*http.Client, string, error) {
	base := strings.TrimRight(c.String("ra"), "/")
	if !strings.HasPrefix(base, "https://") && !strings.HasPrefix(base, "http://") {
		return nil, "", verb.UsageErr("--ra %q: want https://host:port", base)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if f := c.String("tls-ca"); f != "" {
		b, err := verb.ReadLimited(f, opfile.MaxCertificate)
		if err != nil {
			return nil, "", verb.UsageErr("--tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, "", verb.UsageErr("--tls-ca %s: no PEM certificate in it", f)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}, base, nil
}

// Command is smki repo: mirror and serve the SMKI Repository.
func Command() *ucli.Command {
	return &ucli.Command{
		Name:  "repo",
		Usage: "the SMKI Repository (/repo/): copy it for any web server",
		Subcommands: []*ucli.Command{{
			Name:  "mirror",
			Usage: "write the repository as static files under DIR/repo/, fetching only what changed since the last run",
			Description: `Serving DIR with any web server answers the repository's URLs (docs/repository.md)
   with the same bytes, except search and changes, which are live only. Run it
   again (e.g. from a timer) to bring the copy up to date: the mirror's
   index.json records the issuance and revocation sequences it reflects.

Example:
   smki repo mirror --ra https://ra.example:8443 --tls-ca access-root.pem --out /srv/smki`,
			Flags: append(relyingFlags(),
				&ucli.StringFlag{Name: "out", Usage: "mirror `DIR`", Required: true},
				&ucli.BoolFlag{Name: "json", Usage: "print the run's figures as JSON"}),
			Action: func(c *ucli.Context) error {
				client, base, err := relyingClient(c)
				if err != nil {
					return err
				}
				st, err := repo.Mirror(c.Context, repo.MirrorOptions{BaseURL: base, Out: c.String("out"), Client: client})
				if err != nil {
					return err
				}
				if c.Bool("json") {
					return verb.PrintJSON(c, st)
				}
				fmt.Fprintf(c.App.Writer, "mirror at issuance %d, revocation %d: %d new certificates, %d revocations, %d fetched, %d unchanged\n",
					st.IssuanceSeq, st.RevocationSeq, st.Issued, st.Revoked, st.Fetched, st.Unchanged)
				return nil
			},
		}, repoServeCommand()},
	}
}

// CertStatusCommand is `smki cert status`: a certificate's status over
// OCSP, for anyone (no officer credential).
func CertStatusCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "status",
		Usage: "ask the server's OCSP responder whether a certificate is good, revoked or unknown (no officer credential)",
		Description: `The answer's signature is verified against the Issuing OCA certificate (--issuer,
   or fetched from the server's /repo/ca/issuing.pem over the verified TLS
   connection) before it is believed. Exit 0 whatever the status; --json for
   scripts.

Example:
   smki cert status --ra https://ra.example:8443 --tls-ca access-root.pem --serial 1a2b3c`,
		Flags: append(relyingFlags(),
			&ucli.StringFlag{Name: "serial", Usage: "certificate serial `HEX`", Required: true},
			&ucli.StringFlag{Name: "issuer", Usage: "Issuing OCA certificate `PEM` (default: fetched from the server)"},
			&ucli.BoolFlag{Name: "json", Usage: "print the answer as JSON"}),
		Action: certStatus,
	}
}

func certStatus(c *ucli.Context) error {
	s := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(c.String("serial"), "0x"), "0X"))
	serial, ok := new(big.Int).SetString(s, 16)
	if !ok || serial.Sign() <= 0 || len(s) > 40 {
		return verb.UsageErr("--serial %q: want the serial in hex, e.g. 1a2b3c (as smki certs lists it)", c.String("serial"))
	}
	client, base, err := relyingClient(c)
	if err != nil {
		return err
	}
	var issuerPEM []byte
	if f := c.String("issuer"); f != "" {
		if issuerPEM, err = verb.ReadLimited(f, opfile.MaxCertificate); err != nil {
			return verb.UsageErr("--issuer: %w", err)
		}
	} else if issuerPEM, err = fetchIssuer(c.Context, client, base); err != nil {
		return err
	}
	blk, _ := pem.Decode(issuerPEM)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return verb.UsageErr("the issuer is not a PEM certificate; give --issuer issuing-ca.pem")
	}
	issuer, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return verb.UsageErr("the issuer certificate does not parse; give --issuer issuing-ca.pem")
	}
	a, err := ocsp.Query(c.Context, client, base+"/ocsp", issuer, serial, time.Now())
	if err != nil {
		return err
	}
	out := struct {
		Serial     string    `json:"serial"`
		Status     string    `json:"status"`
		RevokedAt  string    `json:"revoked_at,omitempty"`
		Reason     string    `json:"reason,omitempty"`
		ThisUpdate time.Time `json:"this_update"`
		NextUpdate time.Time `json:"next_update"`
	}{Serial: serial.Text(16), Status: a.Status, ThisUpdate: a.ThisUpdate.UTC(), NextUpdate: a.NextUpdate.UTC()}
	if a.Status == "revoked" {
		out.RevokedAt, out.Reason = a.RevokedAt.UTC().Format(time.RFC3339), ra.ReasonName(a.Reason)
	}
	if c.Bool("json") {
		return verb.PrintJSON(c, out)
	}
	switch a.Status {
	case "revoked":
		fmt.Fprintf(c.App.Writer, "%s: revoked at %s, reason %s\n", out.Serial, out.RevokedAt, out.Reason)
	case "good":
		fmt.Fprintf(c.App.Writer, "%s: good (as of %s)\n", out.Serial, out.ThisUpdate.Format(time.RFC3339))
	default:
		fmt.Fprintf(c.App.Writer, "%s: unknown (the Issuing OCA never issued this serial)\n", out.Serial)
	}
	return nil
}

// fetchIssuer reads the Issuing OCA certificate from the repository.
func fetchIssuer(ctx context.Context, client *http.Client, base string) ([]byte, error) {
	u := base + repo.Prefix + "ca/issuing.pem"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, verb.UsageErr("--ra: %v", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s failed; check --ra, --tls-ca and that the server is up", ocsp.ErrQuery, u)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: GET %s: HTTP %d; give --issuer issuing-ca.pem instead", ocsp.ErrQuery, u, resp.StatusCode)
	}
	return b, nil
}
