package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/smki/smki/ca"
)

// passphraseFlags are the ways to give the CA key passphrase: a file, or
// an environment variable naming it directly.
func passphraseFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "passphrase-file", Usage: "file holding the CA key passphrase", EnvVars: []string{"SMKI_PASSPHRASE_FILE"}},
		&ucli.StringFlag{Name: "kms", Usage: "KMS URI for CA keys (default: softkms files under DATA/keys), e.g. pkcs11:module-path=/usr/lib/softhsm/libsofthsm2.so;token=smki?pin-value=1234", EnvVars: []string{"SMKI_KMS"}},
	}
}

// passphrase reads the passphrase from --passphrase-file or SMKI_PASSPHRASE.
func passphrase(c *ucli.Context) ([]byte, error) {
	if f := c.String("passphrase-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, usageErr("--passphrase-file: %v", err)
		}
		return []byte(strings.TrimRight(string(b), "\r\n")), nil
	}
	if p := os.Getenv("SMKI_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	return nil, nil
}

// storePath is the bbolt file inside a data directory.
func storePath(dataDir string) string { return filepath.Join(dataDir, "smki.db") }

func caCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "ca",
		Usage: "operate the CA hierarchy",
		Subcommands: []*ucli.Command{{
			Name:  "init",
			Usage: "create the Root OCA (OU=00) and Issuing OCA (OU=07) and publish the first ARL and ORL",
			Description: `Keys are generated in the KMS: encrypted PEM files under DATA/keys by default
(passphrase from --passphrase-file or $SMKI_PASSPHRASE), or in an HSM by PKCS#11 URI.

The CA's records go to the store (--store; default the bbolt file in DATA).

Example:
   SMKI_PASSPHRASE=... smki ca init --data /var/lib/smki
   SMKI_PASSPHRASE=... smki ca init --data /var/lib/smki --store 'postgres://smki@db/smki'`,
			Flags: append([]ucli.Flag{
				&ucli.StringFlag{Name: "data", Usage: "data directory", Value: "./data", EnvVars: []string{"SMKI_DATA"}},
				&ucli.StringFlag{Name: "root-cn", Usage: "Root OCA common name"},
				&ucli.StringFlag{Name: "issuing-cn", Usage: "Issuing OCA common name"},
				storeFlag(),
			}, passphraseFlags()...),
			Action: func(c *ucli.Context) error {
				dir := c.String("data")
				pass, err := passphrase(c)
				if err != nil {
					return err
				}
				if len(pass) == 0 && c.String("kms") == "" {
					return usageErr("a passphrase is needed for softkms keys: --passphrase-file or SMKI_PASSPHRASE")
				}
				if err := os.MkdirAll(dir, 0o700); err != nil {
					return withCode(ExitUsage, err)
				}
				st, _, err := openStoreFlag(c, dir, 0)
				if err != nil {
					return err
				}
				defer st.Close()
				cfg := ca.Config{Dir: dir, Passphrase: pass, KMS: c.String("kms")}
				if err := ca.Init(c.Context, st, cfg, ca.InitOptions{RootCommonName: c.String("root-cn"), IssuingCommonName: c.String("issuing-cn")}); err != nil {
					return err
				}
				authority, err := ca.Open(c.Context, st, cfg)
				if err != nil {
					return err
				}
				defer authority.Close()
				fmt.Fprintf(c.App.Writer, "CA initialised in %s\n  root:    %s\n  issuing: %s\n", dir,
					authority.Root().Subject, authority.Issuing().Subject)
				return nil
			},
		}},
	}
}
