package cacmd

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/cli/storecmd"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/opfile"
	"github.com/smki/smki/store"
)

// passphraseFlags are the ways to give the CA key passphrase: a file, or
// an environment variable naming it directly.
func PassphraseFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "passphrase-file", Usage: "file holding the CA key passphrase", EnvVars: []string{"SMKI_PASSPHRASE_FILE"}},
		&ucli.StringFlag{Name: "kms", Usage: "KMS URI for CA keys (default: softkms files under DATA/keys), e.g. pkcs11:module-path=/usr/lib/softhsm/libsofthsm2.so;token=smki?pin-source=/etc/smki/pin", EnvVars: []string{"SMKI_KMS"}},
	}
}

// passphrase reads the passphrase from --passphrase-file or SMKI_PASSPHRASE.
func passphrase(c *ucli.Context) ([]byte, error) {
	return ReadPassphrase(c.String("passphrase-file"))
}

// readPassphrase reads the passphrase from file (trailing newline
// dropped), else from $SMKI_PASSPHRASE; nil if neither is given.
func ReadPassphrase(file string) ([]byte, error) {
	if file != "" {
		b, err := verb.ReadLimited(file, opfile.MaxKey)
		if err != nil {
			return nil, verb.UsageErr("passphrase file: %w", err)
		}
		return []byte(strings.TrimRight(string(b), "\r\n")), nil
	}
	if p := os.Getenv("SMKI_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	return nil, nil
}

// Command is smki ca: init, arl and import-arl.
func Command() *ucli.Command {
	return &ucli.Command{
		Name:  "ca",
		Usage: "operate the CA hierarchy",
		Subcommands: []*ucli.Command{{
			Name:  "init",
			Usage: "create the Root OCA (OU=00) and Issuing OCA (OU=07) and publish the first ARL and ORL",
			Description: `Keys are generated in the KMS: encrypted PEM files under DATA/keys by default
(passphrase from --passphrase-file or $SMKI_PASSPHRASE), or in an HSM by PKCS#11 URI.

The CA's records go to the store (--store; default the bbolt file in DATA).
An init that fails leaves nothing it created (the data directory, the store
file, the keys), so the same command, put right, can simply be run again.

Example:
   SMKI_PASSPHRASE=... smki ca init --data /var/lib/smki
   SMKI_PASSPHRASE=... smki ca init --data /var/lib/smki --store 'postgres://smki@db/smki'`,
			Flags: append([]ucli.Flag{
				&ucli.StringFlag{Name: "data", Usage: "data directory", Value: "./data", EnvVars: []string{"SMKI_DATA"}},
				&ucli.StringFlag{Name: "root-cn", Usage: "Root OCA common name"},
				&ucli.StringFlag{Name: "issuing-cn", Usage: "Issuing OCA common name"},
				storecmd.StoreFlag(),
			}, PassphraseFlags()...),
			Action: caInit,
		}, caARLCommand(), caImportARLCommand()},
	}
}

// caInit is smki ca init. One that fails leaves nothing it created: not
// the data directory, nor the store file (storecmd.OpenNew), nor keys
// (ca.Init), so running it again, right, starts afresh.
func caInit(c *ucli.Context) error {
	dir := c.String("data")
	pass, err := passphrase(c)
	if err != nil {
		return err
	}
	if len(pass) == 0 && c.String("kms") == "" {
		return verb.UsageErr("a passphrase is needed for softkms keys: --passphrase-file or SMKI_PASSPHRASE")
	}
	_, statErr := os.Stat(dir)
	newDir := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return verb.WithCode(verb.ExitUsage, err)
	}
	st, undoStore, err := storecmd.OpenNew(c, dir)
	if err == nil {
		var made bool
		made, err = initCA(c, dir, pass, st)
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		if !made {
			undoStore()
		}
	}
	if err != nil && newDir {
		_ = os.Remove(dir) // fails, and keeps it, unless empty
	}
	return err
}

// initCA creates the CA in st and says so. made: ca.Init succeeded (the
// store holds the CA, whatever err says after).
func initCA(c *ucli.Context, dir string, pass []byte, st store.Store) (made bool, err error) {
	cfg := ca.Config{Dir: dir, Passphrase: pass, KMS: c.String("kms")}
	if err := ca.Init(c.Context, st, cfg, ca.InitOptions{RootCommonName: c.String("root-cn"), IssuingCommonName: c.String("issuing-cn")}); err != nil {
		return false, err
	}
	authority, err := ca.Open(c.Context, st, cfg)
	if err != nil {
		return true, err
	}
	defer authority.Close()
	fmt.Fprintf(c.App.Writer, "CA initialised in %s\n  root:    %s\n  issuing: %s\n", dir,
		authority.Root().Subject, authority.Issuing().Subject)
	return true, nil
}

// caARLCommand is the Root OCA key ceremony's step: issue an ARL on the
// machine that holds the root key and write it out for the online servers.
func caARLCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "arl",
		Usage: "issue a fresh ARL with the Root OCA key (key ceremony) and write it to a file",
		Description: `Run on the ceremony machine, which holds the full CA (both keys). The ARL lists
every issuing CA this store holds as revoked; it is recorded in this store (with an
audit entry) like any ARL and written DER to --out, for 'smki ca import-arl' on the
online servers, which run with --offline-root. The lifetime defaults to 30 days (what
an online root uses); an offline root usually chooses longer, up to 400 days.
Accepts days (400d) or Go durations (720h). The ARL's nextUpdate never passes the
Root OCA's notAfter (a longer lifetime is cut to it, and the output says so); once
the Root has expired no ARL is signed (E_CA_EXPIRED): a new Root OCA is needed.

Example:
   SMKI_PASSPHRASE=... smki ca arl --data /media/ceremony/smki --lifetime 180d --out arl-0007.crl`,
		Flags: append([]ucli.Flag{
			&ucli.StringFlag{Name: "data", Usage: "data directory", Value: "./data", EnvVars: []string{"SMKI_DATA"}},
			&ucli.StringFlag{Name: "lifetime", Usage: "nextUpdate - thisUpdate, 1d to 400d (default 30d)"},
			&ucli.StringFlag{Name: "out", Usage: "file to write the ARL to (DER)", Required: true},
			storecmd.StoreFlag(),
		}, PassphraseFlags()...),
		Action: caARL,
	}
}

func caARL(c *ucli.Context) error {
	dir := c.String("data")
	lifetime, err := parseLifetime(c.String("lifetime"))
	if err != nil {
		return err
	}
	pass, err := passphrase(c)
	if err != nil {
		return err
	}
	if len(pass) == 0 && c.String("kms") == "" {
		return verb.UsageErr("a passphrase is needed for softkms keys: --passphrase-file or SMKI_PASSPHRASE")
	}
	// A directory that cannot take --out fails before an ARL number is
	// spent (verb.CheckOut); the ARL is then written as every --out is
	// (verb.WriteOut: durable.Replace, a temporary file synced, renamed
	// and its directory synced), so a failure or a crash leaves no empty
	// or partial --out behind.
	outPath := c.String("out")
	if err := verb.CheckOut("out", outPath); err != nil {
		return err
	}
	st, _, err := storecmd.OpenStore(c, dir, storecmd.LockWait)
	if err != nil {
		return verb.WithCode(verb.ExitUsage, err)
	}
	defer st.Close()
	authority, err := ca.Open(c.Context, st, ca.Config{Dir: dir, Passphrase: pass, KMS: c.String("kms")})
	if err != nil {
		return err
	}
	defer authority.Close()
	crl, err := authority.IssueARL(c.Context, lifetime)
	if err != nil {
		return err
	}
	if err := verb.WriteOut(c, outPath, crl.DER); err != nil {
		return fmt.Errorf("ARL %d is recorded but not written (run again for the next number): %w", crl.Number, err)
	}
	sum := sha256.Sum256(crl.DER)
	fmt.Fprintf(c.App.Writer, "ARL %d written to %s\n  thisUpdate: %s\n  nextUpdate: %s\n  SHA-256:    %s\n",
		crl.Number, outPath, crl.ThisUpdate.UTC().Format(time.RFC3339), crl.NextUpdate.UTC().Format(time.RFC3339), hex.EncodeToString(sum[:]))
	if root := authority.Root(); crl.NextUpdate.Equal(root.NotAfter) {
		fmt.Fprintf(c.App.Writer, "  nextUpdate cut to the Root OCA's notAfter: the Root expires then, and no ARL is signed after it; make a new Root OCA (key ceremony) and give it to every relying party before then\n")
	}
	return nil
}

// parseLifetime reads "400d" (days) or a Go duration; "" is 0 (the
// default ARL lifetime). The CA checks the range.
func parseLifetime(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, verb.UsageErr("--lifetime %q: want days (400d) or a duration (720h)", v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, verb.UsageErr("--lifetime %q: want days (400d) or a duration (720h)", v)
	}
	return d, nil
}

// caImportARLCommand installs a ceremony's ARL on the online side, which
// needs no key for it.
func caImportARLCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "import-arl",
		Usage:     "install an ARL made by 'smki ca arl' as the current ARL (online side; no key needed)",
		ArgsUsage: "FILE",
		Description: `FILE is DER or PEM. The ARL must be signed by this store's Root OCA with its
subject as issuer, pass the CRL lints, carry a CRL number greater than the stored
ARL's, have thisUpdate not ahead of this clock by more than 5 minutes and nextUpdate
still ahead, last at most 400 days, and list every issuing CA this store holds as
revoked. Any refusal has a code (E_CA_ARL_*, E_LINT) and writes nothing. An issuing CA
the ARL lists that this store holds as good is revoked with it, so the revocation
feed agrees with the ARL. The ARL is stored and audited in one transaction and served
at /crl/arl.crl from then on. On bbolt stop the server first (it holds the file lock);
on PostgreSQL servers may keep running.

Example:
   smki ca import-arl arl-0007.crl --data /var/lib/smki
   smki ca import-arl arl-0007.crl --store 'postgres://smki@db/smki'`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "data", Usage: "data directory (for the default bbolt store)", EnvVars: []string{"SMKI_DATA"}},
			storecmd.StoreFlag(),
		},
		Action: caImportARL,
	}
}

func caImportARL(c *ucli.Context) error {
	path, err := verb.OneArg(c, "ARL file")
	if err != nil {
		return err
	}
	data, err := verb.ReadLimited(path, ca.MaxARLSize)
	if err != nil {
		return err
	}
	st, _, err := storecmd.OpenStore(c, c.String("data"), storecmd.LockWait)
	if err != nil {
		return verb.WithCode(verb.ExitUsage, err)
	}
	defer st.Close()
	actor := "ca-import"
	if u, err := user.Current(); err == nil && u.Username != "" {
		actor = "ca-import:" + u.Username
	}
	got, err := ca.ImportARL(c.Context, st, data, ca.ImportOptions{Actor: actor})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "ARL %d imported (replaces %d)\n  thisUpdate: %s\n  nextUpdate: %s\n",
		got.CRL.Number, got.Previous, got.CRL.ThisUpdate.Format(time.RFC3339), got.CRL.NextUpdate.Format(time.RFC3339))
	for _, r := range got.Revoked {
		fmt.Fprintf(c.App.Writer, "  revoked as the ARL lists: %s (reason %d, %s)\n", r.Serial, r.Reason, r.RevokedAt.UTC().Format(time.RFC3339))
	}
	return nil
}
