package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	ucli "github.com/urfave/cli/v2"
)

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
	b, err := os.ReadFile(path)
	if err != nil {
		if !explicit && os.IsNotExist(err) {
			return cfg, nil
		}
		return cfg, usageErr("config %s: %v", path, err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, usageErr("config %s: %v", path, err)
	}
	return cfg, nil
}

// clientFlags are shared by every verb that talks to the RA.
func clientFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "ra", Usage: "RA base URL, e.g. https://ra.example:8443", EnvVars: []string{"SMKI_RA_URL"}},
		&ucli.StringFlag{Name: "officer", Usage: "officer credential directory (key.pem, cert.pem, ca.pem)", EnvVars: []string{"SMKI_OFFICER"}},
		&ucli.StringFlag{Name: "config", Usage: "config file (JSON: {\"ra\": URL, \"officer\": DIR})", EnvVars: []string{"SMKI_CONFIG"}},
		&ucli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"},
	}
}

// raTarget resolves the RA URL and officer directory: flag or
// environment first, then the config file.
func raTarget(c *ucli.Context) (url, officer string, err error) {
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
		return "", "", usageErr("no RA URL: --ra, $SMKI_RA_URL or the config file")
	}
	if officer == "" {
		return "", "", usageErr("no officer credential: --officer, $SMKI_OFFICER or the config file")
	}
	return url, officer, nil
}

func printJSON(c *ucli.Context, v any) error {
	enc := json.NewEncoder(c.App.Writer)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}
