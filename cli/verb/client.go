package verb

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/strictjson"
	"github.com/smki/smki/raclient"
)

// ClientFlags are shared by every verb that talks to the RA.
func ClientFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "ra", Usage: "RA base URL, e.g. https://ra.example:8443", EnvVars: []string{"SMKI_RA_URL"}},
		&ucli.StringFlag{Name: "officer", Usage: "officer credential directory (key.pem, cert.pem, ca.pem)", EnvVars: []string{"SMKI_OFFICER"}},
		&ucli.StringFlag{Name: "config", Usage: "config file (JSON: {\"ra\": URL, \"officer\": DIR})", EnvVars: []string{"SMKI_CONFIG"}},
		&ucli.DurationFlag{Name: "timeout", Value: raclient.DefaultTimeout, EnvVars: []string{"SMKI_TIMEOUT"},
			Usage: "how long to wait for the RA's answer, e.g. 2m; a streamed answer (revoke's progress, store backup's copy) " +
				"may take longer while it keeps arriving: this bounds each wait for more of it"},
		&ucli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"},
	}
}

// Timeout is the verb's --timeout ($SMKI_TIMEOUT), which must be positive.
func Timeout(c *ucli.Context) (time.Duration, error) {
	d := c.Duration("timeout")
	if d <= 0 {
		return 0, UsageErr("--timeout %s: want a positive duration such as 90s or 5m", d)
	}
	return d, nil
}

// ClientFlagsWith is flags followed by ClientFlags: a client verb's own
// flags first, as --help lists them.
func ClientFlagsWith(flags ...ucli.Flag) []ucli.Flag {
	return append(flags, ClientFlags()...)
}

// WithClient is how a verb talks to the RA: it builds the client from the
// verb's --ra and --officer (a bad credential is a usage error; one near
// expiry is warned about on stderr), runs call, and returns call's error
// with an RA refusal reported as "E_CODE: message" (APIErr).
func WithClient(c *ucli.Context, call func(*raclient.Client) error) error {
	url, officer, err := RATarget(c)
	if err != nil {
		return err
	}
	timeout, err := Timeout(c)
	if err != nil {
		return err
	}
	cl, err := raclient.NewClient(url, officer)
	if err != nil {
		return WithCode(ExitUsage, err)
	}
	cl.SetTimeout(timeout)
	// On stderr only: stdout may be --json for a script.
	WarnExpiring(c.App.ErrWriter, officer, time.Now())
	cl.SetBusyRetry(raclient.DefaultBusyRetries, func(b raclient.BusyRetry) {
		fmt.Fprintf(c.App.ErrWriter, "smki: the RA is busy (E_RA_BUSY, nothing was changed); retrying in %.1fs (retry %d of %d)\n",
			b.Wait.Seconds(), b.Attempt, b.Of)
	})
	return APIErr(call(cl))
}

// Call is a client verb's one call: WithClient runs call, and its answer
// is printed as JSON with --json, otherwise by print (nil: nothing more).
// A verb is its flags plus one Call.
func Call[T any](c *ucli.Context, call func(*raclient.Client) (T, error), print func(T) error) error {
	return WithClient(c, func(cl *raclient.Client) error {
		v, err := call(cl)
		if err != nil {
			return err
		}
		if c.Bool("json") {
			return PrintJSON(c, v)
		}
		if print == nil {
			return nil
		}
		return print(v)
	})
}

// clientConfig is the optional config file for client verbs
// (--config, $SMKI_CONFIG, or ~/.config/smki/config.json). A flag or
// environment variable always wins over the file.
type clientConfig struct {
	RA      string `json:"ra"`
	Officer string `json:"officer"`
}

func loadClientConfig(c *ucli.Context) (clientConfig, error) {
	var cfg clientConfig
	path := c.String("config")
	explicit := path != ""
	if !explicit {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, ".config", "smki", "config.json")
		}
	}
	if path == "" {
		return cfg, nil
	}
	if _, err := os.Stat(path); !explicit && errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	b, err := ReadLimited(path, 64<<10)
	if err != nil {
		return cfg, err
	}
	// Strict: a misspelt key ("ra_url") is refused by name, not ignored
	// until "no RA URL" says nothing about the file.
	if err := strictjson.Decode(b, &cfg); err != nil {
		return cfg, UsageErr("the config file %s is not one smki reads (%v); it holds one JSON object, {\"ra\": URL, \"officer\": DIR}", path, err)
	}
	return cfg, nil
}

// RATarget resolves the RA URL and officer directory: flag or
// environment first, then the config file.
func RATarget(c *ucli.Context) (url, officer string, err error) {
	cfg, err := loadClientConfig(c)
	if err != nil {
		return "", "", err
	}
	url, officer = c.String("ra"), c.String("officer")
	if url == "" {
		url = cfg.RA
	}
	if officer == "" {
		officer = cfg.Officer
	}
	if url == "" {
		return "", "", UsageErr("no RA URL: --ra, $SMKI_RA_URL or the config file")
	}
	if officer == "" {
		return "", "", UsageErr("no officer credential: --officer, $SMKI_OFFICER or the config file")
	}
	return url, officer, nil
}

// CredentialWarnBefore: officer credentials last a year
// (ownpki.AccessCA); client verbs warn this long before the end, while
// the credential can still renew itself.
const CredentialWarnBefore = 30 * 24 * time.Hour

// WarnExpiring writes a warning to w when the credential in dir has expired
// or expires within CredentialWarnBefore of now. An unreadable credential
// is left to raclient.NewClient to report.
func WarnExpiring(w io.Writer, dir string, now time.Time) {
	cert, err := credential.ReadCert(dir)
	if err != nil {
		return
	}
	end := cert.NotAfter.UTC().Format("2006-01-02 15:04 MST")
	switch left := cert.NotAfter.Sub(now); {
	case left <= 0:
		fmt.Fprintf(w, "smki: your officer credential expired on %s and cannot renew itself: make a key (smki officer keygen --out DIR) "+
			"and have the officer who may appoint you re-issue it for DIR/officer.csr (smki officer reissue)\n", end)
	case left <= CredentialWarnBefore:
		fmt.Fprintf(w, "smki: your officer credential expires on %s; run smki officer renew\n", end)
	}
}
