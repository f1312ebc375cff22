package verifycmd

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/internal/opfile"
	"github.com/smki/smki/verifier"
	"github.com/smki/smki/verifier/xmldsig"
)

// SignCommand is smki sign: sign a DUIS Service Request.
func SignCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "sign",
		Usage:     "sign a DUIS Service Request (DUIS XMLDSig profile) and write it to stdout",
		ArgsUsage: "FILE|-",
		Description: `Signs with an ECDSA P-256 key (PEM, PKCS#8 or SEC1) whose certificate is
given with --cert. A placeholder ds:Signature in the input (the DUIS templates
carry one) is replaced. KeyInfo names the certificate by X509IssuerSerial;
--include-cert adds the certificate itself (verifiers still chain it).

Example:
   smki sign --key users/srp-sc-xml/key.pem --cert users/srp-sc-xml/cert.pem --counter 1001 request.xml > signed.xml`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "key", Usage: "signing key `PEM`", Required: true},
			&ucli.StringFlag{Name: "cert", Usage: "signer certificate `PEM`", Required: true},
			&ucli.StringFlag{Name: "counter", Usage: "replace the RequestID counter with `N` before signing"},
			&ucli.BoolFlag{Name: "include-cert", Usage: "add the certificate to KeyInfo as X509Certificate"},
		},
		Action: func(c *ucli.Context) error {
			data, err := verb.ReadInput(c)
			if err != nil {
				return err
			}
			key, err := credential.LoadKey(c.String("key"))
			if err != nil {
				return verb.UsageErr("--key: %v", err)
			}
			cert, err := loadCert(c.String("cert"))
			if err != nil {
				return verb.UsageErr("--cert: %v", err)
			}
			if s := c.String("counter"); s != "" {
				n, err := strconv.ParseUint(s, 10, 64)
				if err != nil {
					return verb.UsageErr("--counter: %q is not a decimal in [0, 2^64-1]", s)
				}
				if data, err = setCounter(data, n); err != nil {
					return verb.UsageErr("--counter: %v", err)
				}
			}
			out, err := xmldsig.Sign(data, key, cert, xmldsig.SignOptions{IncludeCertificate: c.Bool("include-cert")})
			if err != nil {
				return verb.WithCode(verb.ExitError, err)
			}
			if _, err := c.App.Writer.Write(out); err != nil {
				return verb.UsageErr("write: %v", err)
			}
			return nil
		},
	}
}

// VerifyCommand is smki verify: one request, one decision.
func VerifyCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "verify",
		Usage:     "check a signed DUIS Service Request; print one JSON decision",
		ArgsUsage: "FILE|-",
		Description: `Prints {"decision","code","reason","route"} and exits 0 on accept, 3 on
reject, 2 on a usage or I/O error (including a bundle that does not verify).
--trust defaults to <dir of bundle>/trust and must hold root.pem; issuing-ca.pem
and every *.crl there (PEM or DER) are used too (each CRL must verify against
them). Without --bundle the trust directory's bundle.json is used: a directory
written by smki trust export is all a verifier needs.
--at evaluates the request, and the freshness of the data, as of that time.
--feed applies signed revocation feed pages (as the RA serves them, or
smki testpki's feed-page.json) after the bundle, in the order given; each
must verify against the trust directory's roots (one that does not, or
that the verifier refuses, is a usage error, exit 2); a page already held
changes nothing.

Examples:
   smki verify --bundle scenario/bundle.json signed.xml
   smki verify --trust scenario/trust --feed scenario/feed-page.json signed.xml`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "bundle", Usage: "signed policy bundle `FILE` (default: the trust directory's bundle.json)"},
			&ucli.StringFlag{Name: "trust", Usage: "trust `DIR` (root.pem, issuing-ca.pem, *.crl, bundle.json; smki trust export)"},
			&ucli.StringFlag{Name: "at", Usage: "evaluate as of this RFC 3339 `TIME` (default now)"},
			&ucli.StringSliceFlag{Name: "feed", Usage: "apply this signed revocation feed page `FILE` after the bundle (repeatable, in order)"},
		},
		Action: func(c *ucli.Context) error {
			clock, err := verb.ClockFlag(c, "at")
			if err != nil {
				return err
			}
			data, err := verb.ReadInput(c)
			if err != nil {
				return err
			}
			v, err := buildVerifier(c.String("bundle"), c.String("trust"), clock, nil)
			if err != nil {
				return err
			}
			if err := applyFeedPages(v, c.String("bundle"), c.String("trust"), c.StringSlice("feed"), clock()); err != nil {
				return err
			}
			d := v.Verify(data, clock())
			if err := json.NewEncoder(c.App.Writer).Encode(d); err != nil {
				return verb.UsageErr("write: %v", err)
			}
			if !d.Accepted() {
				return verb.WithCode(verb.ExitReject, fmt.Errorf("rejected: %s: %s", d.Code, d.Reason))
			}
			return nil
		},
	}
}

// VerifierCommand is smki verifier serve: the verifier as a sidecar.
func VerifierCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "verifier",
		Usage: "run the verifier as a sidecar",
		Subcommands: []*ucli.Command{{
			Name:  "serve",
			Usage: "serve POST /v1/verify, GET /healthz, GET /readyz, GET /metrics and GET /openapi.yaml, following the RA's bundle and revocation feed",
			Description: `POST /v1/verify takes the signed XML and answers the decision JSON (200 for
accept and reject). With --ra it fetches {ra}/v1/bundle every --bundle-interval
and long-polls {ra}/v1/revocations?since=SEQ, applying updates live. The RA
requires mTLS: --officer names a credential directory (key.pem, cert.pem, and
ca.pem, the RA access root that verifies the RA's TLS certificate), normally
of a "verifier" officer, which may read only the bundle and the feed. What
arrives is still checked against --trust's root before it is applied.

GET /metrics serves Prometheus metrics (smki_verifier_*). With --state-file,
accepted counters and the ADT windows (counts and quarantines) survive
restarts: an accept is answered only once its record is fsynced, and
concurrent accepts share one fsync (--fsync-delay). Without it they live in
memory only.

Example:
   smki verifier serve --listen 127.0.0.1:8444 --bundle scenario/bundle.json --trust scenario/trust \
       --ra https://127.0.0.1:8443 --officer ./verifier-1`,
			Flags: []ucli.Flag{
				&ucli.StringFlag{Name: "listen", Usage: "listen `ADDR` (host:port, or unix:/path for a unix socket)", Value: "127.0.0.1:8444"},
				&ucli.StringFlag{Name: "tls-cert", Usage: "serve HTTPS with this certificate `PEM` (with --tls-key)"},
				&ucli.StringFlag{Name: "tls-key", Usage: "the private key `PEM` of --tls-cert"},
				&ucli.StringFlag{Name: "tls-client-ca", Usage: "with --tls-cert: require client certificates that chain to this CA `PEM`"},
				&ucli.StringFlag{Name: "ready-file", Usage: "write the listening address to this `FILE` once serving (with --listen 127.0.0.1:0, for scripts and tests)"},
				&ucli.StringFlag{Name: "bundle", Usage: "signed policy bundle `FILE` (default: the trust directory's bundle.json)"},
				&ucli.StringFlag{Name: "trust", Usage: "trust `DIR` (root.pem, issuing-ca.pem, *.crl, bundle.json; smki trust export)", Required: true},
				&ucli.StringFlag{Name: "ra", Usage: "RA base `URL` to follow"},
				&ucli.StringFlag{Name: "officer", Usage: "RA credential `DIR` for --ra (key.pem, cert.pem, ca.pem)"},
				&ucli.StringFlag{Name: "state-file", Aliases: []string{"replay-file"}, Usage: "keep replay counters and ADT windows durably in `FILE`"},
				&ucli.BoolFlag{Name: "state-recover", Usage: "start once on a --state-file refused as damaged (E_STATE_DAMAGED: from its intact records, keeping the damaged file as FILE.damaged) or as older than the one this verifier last wrote (E_STATE_ROLLBACK: adopting it); a request whose record is lost could be accepted once more"},
				&ucli.DurationFlag{Name: "fsync-delay", Usage: "how long the first accept of a group waits for others before the sync (--state-file; 0: none, accepts arriving during a sync share the next one)"},
				&ucli.DurationFlag{Name: "bundle-interval", Usage: "bundle poll interval", Value: time.Minute},
				&ucli.DurationFlag{Name: "max-age", Usage: "oldest data acted on (0: the bundle's max_age)"},
			},
			Action: serveVerifier,
		}},
	}
}

// buildVerifier opens the bundle (--bundle, else the trust directory's
// bundle.json) against the trust directory's roots and builds a Verifier.
// Every failure is a usage or I/O error (exit 2).
func buildVerifier(bundlePath, trustDir string, clock func() time.Time, mod func(*verifier.Options)) (*verifier.Verifier, error) {
	o, err := trustOptions(bundlePath, trustDir, clock)
	if err != nil {
		return nil, err
	}
	o.Clock = clock
	if mod != nil {
		mod(&o)
	}
	v, err := verifier.New(o)
	if err != nil {
		return nil, verb.UsageErr("verifier: %v", err)
	}
	return v, nil
}

// applyFeedPages opens each feed page file against the trust directory's
// roots (the default one beside the bundle, as trustOptions finds it) and
// merges it into v, in order: the revocations a sidecar following the RA
// would have had, for a one-shot check.
func applyFeedPages(v *verifier.Verifier, bundlePath, trustDir string, files []string, now time.Time) error {
	if len(files) == 0 {
		return nil
	}
	if trustDir == "" {
		trustDir = filepath.Join(filepath.Dir(bundlePath), "trust")
	}
	t, err := verifier.LoadTrust(trustDir)
	if err != nil {
		return verb.UsageErr("--trust: %v", err)
	}
	for _, f := range files {
		data, err := verb.ReadLimited(f, bundle.MaxFeedSize)
		if err != nil {
			return err
		}
		page, err := bundle.OpenFeedPage(data, t.RootPool(), now)
		if err == nil {
			err = v.AddRevocations(page)
		}
		if err != nil {
			return verb.WithCode(verb.ExitUsage, fmt.Errorf("--feed %s: %w", f, err))
		}
	}
	return nil
}

// trustOptions loads the trust directory (default <dir of bundle>/trust)
// and opens the bundle against its roots.
func trustOptions(bundlePath, trustDir string, clock func() time.Time) (verifier.Options, error) {
	if bundlePath == "" && trustDir == "" {
		return verifier.Options{}, verb.UsageErr("give --trust DIR (with its bundle.json) or --bundle FILE")
	}
	if trustDir == "" {
		trustDir = filepath.Join(filepath.Dir(bundlePath), "trust")
	}
	t, err := verifier.LoadTrust(trustDir)
	if err != nil {
		return verifier.Options{}, verb.UsageErr("--trust: %v", err)
	}
	what := filepath.Join(trustDir, verifier.TrustBundleFile)
	if bundlePath != "" {
		raw, err := verb.ReadLimited(bundlePath, bundle.MaxBundleSize)
		if err != nil {
			return verifier.Options{}, verb.UsageErr("--bundle: %v", err)
		}
		t.Bundle, what = raw, bundlePath
	} else if t.Bundle == nil {
		return verifier.Options{}, verb.UsageErr("--trust %s has no %s: give --bundle FILE", trustDir, verifier.TrustBundleFile)
	}
	o, err := t.Options(clock())
	if err != nil {
		return verifier.Options{}, verb.WithCode(verb.ExitUsage, &bundleRefused{what: what, err: err})
	}
	return o, nil
}

// loadCerts reads a PEM certificate file (opfile.MaxCertificate).
func loadCerts(path string) ([]*x509.Certificate, error) {
	b, err := verb.ReadLimited(path, opfile.MaxCertificate)
	if err != nil {
		return nil, err
	}
	cs, err := dccx509.ParsePEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cs, nil
}

func loadCert(path string) (*x509.Certificate, error) {
	cs, err := loadCerts(path)
	if err != nil {
		return nil, err
	}
	return cs[0], nil
}

var requestIDText = regexp.MustCompile(`(<(?:[A-Za-z_][\w.-]*:)?RequestID>\s*[^<:]+:[^<:]+:)(\d+)(\s*</)`)

// setCounter replaces the counter of the (first) RequestID.
func setCounter(data []byte, n uint64) ([]byte, error) {
	loc := requestIDText.FindSubmatchIndex(data)
	if loc == nil {
		return nil, errors.New("no RequestID of the form originator:target:counter")
	}
	out := make([]byte, 0, len(data)+20)
	out = append(out, data[:loc[4]]...)
	out = strconv.AppendUint(out, n, 10)
	out = append(out, data[loc[5]:]...)
	return out, nil
}

// bundleRefused: the bundle does not open against the trust directory's
// roots (a sidecar then starts not ready, serveUnready).
type bundleRefused struct {
	what string
	err  error
}

func (e *bundleRefused) Error() string { return "--bundle " + e.what + ": " + e.err.Error() }
func (e *bundleRefused) Unwrap() error { return e.err }
