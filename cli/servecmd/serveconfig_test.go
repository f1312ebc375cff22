package servecmd_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/cli"
	"github.com/smki/smki/cli/servecmd"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/opfile"
)

// TestServeConfigFileRefusals: each bad file is refused with exit 2 and
// FILE:LINE naming the offending line.
func TestServeConfigFileRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, file, want string }{
		{"unknown key", "data: /d\nlisen: 1.2.3.4:5\n", `smki.yaml:2: unknown key "lisen"`},
		{"unknown nested key", "tls:\n  nmes: [a]\n", `smki.yaml:2: unknown key "tls.nmes"`},
		{"repeated key", "data: a\ndata: b\n", "smki.yaml:2: data is set twice"},
		{"bool as string", "dev: \"yes\"\n", "smki.yaml:1: dev wants true or false"},
		{"names not a list", "tls:\n  names: ra.example.org\n", "smki.yaml:2: tls.names wants a list"},
		{"inline passphrase", "passphrase: hunter2\n", "smki.yaml:1: unknown key \"passphrase\": secrets are never inline"},
		{"store password", "store: postgres://smki:pw@db/smki\n", "smki.yaml:1: store holds a password"},
		{"kms pin", "kms: pkcs11:token=smki?pin-value=1234\n", "smki.yaml:1: kms holds a PIN"},
		{"not a mapping", "- a\n- b\n", "smki.yaml:1: want a mapping"},
		{"second document", "data: /d\n---\nlisten: 1.2.3.4:5\n", "smki.yaml:2: a second YAML document"},
		{"second document not YAML", "data: /d\n---\n[a\n", "a second YAML document"},
		{"second empty document", "data: /d\n---\n", "smki.yaml:2: a second YAML document"},
		{"repeated section", "tls:\n  names: [a]\nlog:\n  level: info\ntls:\n  key: /k\n", "smki.yaml:5: tls is set twice"},
		{"repeated empty section", "log:\n  level: info\nlog: {}\n", "smki.yaml:3: log is set twice"},
		{"bad TLS name", "dev: true\nlisten: 127.0.0.1:0\ntls:\n  names: [\"ra example\"]\n", `TLS name "ra example"`},
		{"bad log level", "log:\n  level: loud\n", `log level "loud"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			conf := filepath.Join(dir, "smki.yaml")
			os.WriteFile(conf, []byte(tt.file+"data: "+filepath.Join(dir, "data")+"\n"), 0o600)
			if strings.HasPrefix(tt.file, "data:") || strings.HasPrefix(tt.file, "- ") {
				os.WriteFile(conf, []byte(tt.file), 0o600)
			}
			var out, errb bytes.Buffer
			code := cli.Main([]string{"smki", "serve", "--config", conf}, nil, &out, &errb)
			if code != verb.ExitUsage || !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 and %q", code, errb.String(), tt.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
				t.Fatal("a refused configuration created the data directory")
			}
		})
	}
}

// TestServeConfigPrecedence: flag > environment > file > default, and
// --print-config names each source and redacts secrets.
func TestServeConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "smki.yaml")
	os.WriteFile(conf, []byte("data: /from/file\nlisten: 10.0.0.1:1\nstore: postgres://smki@db/smki?passfile=/p\nlog:\n  level: warn\n  format: text\n"), 0o600)
	t.Setenv("SMKI_LISTEN", "10.0.0.2:2")
	t.Setenv("SMKI_LOG_LEVEL", "error")
	t.Setenv("SMKI_KMS", "pkcs11:token=smki?pin-value=1234")
	var out, errb bytes.Buffer
	code := cli.Main([]string{"smki", "serve", "--config", conf, "--print-config", "--log-level", "debug"}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{
		"data: /from/file  # file " + conf + ":1",
		"listen: 10.0.0.2:2  # env SMKI_LISTEN",
		"  level: debug  # flag",
		"  format: text  # file " + conf + ":6",
		"store: postgres://smki@db/smki?passfile=/p  # file " + conf + ":3",
		"kms: pkcs11:token=smki?pin-value=xxxxx  # env SMKI_KMS",
		"ready_file: \"\"  # default",
	} {
		if !strings.Contains(out.String(), want+"\n") {
			t.Errorf("--print-config lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "1234") {
		t.Errorf("--print-config shows a secret:\n%s", out.String())
	}
}

// TestExampleConfigLoads: deploy/smki.example.yaml is a valid config,
// every key it sets is read from it, and it names no inline secret.
func TestExampleConfigLoads(t *testing.T) {
	t.Parallel()
	example := filepath.Join("..", "..", "deploy", "smki.example.yaml")
	fv, err := servecmd.LoadServeFile(example)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"data", "listen", "passphrase_file", "tls.names", "log.format", "log.level"} {
		if _, ok := fv[k]; !ok {
			t.Errorf("example sets no %s", k)
		}
	}
	var out, errb bytes.Buffer
	if code := cli.Main([]string{"smki", "serve", "--config", example, "--print-config"}, nil, &out, &errb); code != 0 {
		t.Fatalf("--print-config of the example: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "names: [ra.example.org, 192.0.2.10]  # file ") {
		t.Errorf("example's tls.names not effective:\n%s", out.String())
	}
}

// TestNewLogger: text logs read durations as durations, JSON logs are
// JSON, levels filter, and unknown formats or levels are usage errors.
func TestNewLogger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format, level, want string
		ok                  bool
	}{
		{"text", "info", "d=12.3ms", true},
		{"json", "info", `"d":12300000`, true},
		{"text", "error", "", true},
		{"yaml", "info", "", false},
		{"text", "loud", "", false},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		log, err := servecmd.NewLogger(&buf, tt.format, tt.level)
		if (err == nil) != tt.ok {
			t.Errorf("servecmd.NewLogger(%q, %q): %v", tt.format, tt.level, err)
			continue
		}
		if err != nil {
			continue
		}
		log.Info("done", slog.Duration("d", 12300*time.Microsecond))
		if tt.want == "" && buf.Len() != 0 || !strings.Contains(buf.String(), tt.want) {
			t.Errorf("servecmd.NewLogger(%q, %q) logged %q, want %q", tt.format, tt.level, buf.String(), tt.want)
		}
	}
}

// TestGCPercent: gc_percent is applied from its default (400), a flag or
// the file; a GOGC in the environment stands instead of the default only;
// out-of-range or non-numeric values are usage errors naming the setting.
func TestGCPercent(t *testing.T) {
	t.Parallel()
	env := func(gogc string) func(string) string {
		return func(k string) string {
			if k == "GOGC" {
				return gogc
			}
			return ""
		}
	}
	tests := []struct {
		name      string
		args      []string
		gogc      string
		want      int
		wantApply bool
		wantErr   string
	}{
		{"default", nil, "", servecmd.DefaultGCPercent, true, ""},
		{"GOGC stands instead of the default", nil, "200", 0, false, ""},
		{"a flag wins over GOGC", []string{"--gc-percent", "150"}, "200", 150, true, ""},
		{"not a number", []string{"--gc-percent", "lots"}, "", 0, false, `gc_percent "lots" (flag)`},
		{"too small", []string{"--gc-percent", "10"}, "", 0, false, "from 50 to 10000"},
		{"too large", []string{"--gc-percent", "20000"}, "", 0, false, "from 50 to 10000"},
	}
	for _, tt := range tests {
		n, apply, err := servecmd.GCPercent(tt.args, env(tt.gogc))
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err %v, want one containing %q", tt.name, err, tt.wantErr)
			}
		case err != nil || n != tt.want || apply != tt.wantApply:
			t.Errorf("%s: %d, %v, %v; want %d, %v", tt.name, n, apply, err, tt.want, tt.wantApply)
		}
	}
}

// TestServeConfigRelativePaths: a relative path written in the config file
// is resolved against the file's directory, not the working directory
// (which is / under systemd); a path given as a flag or environment
// variable stays relative to the working directory; a relative file path
// inside a URI (kms pin-source, a PostgreSQL passfile) is refused with
// FILE:LINE, since the library reading it would resolve it against the
// working directory.
func TestServeConfigRelativePaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file string
		args       []string
		want       string // with DIR for the config file's directory
		wantErr    string
	}{
		{"data", "data: ./d\n", nil, "data: DIR/d  # file", ""},
		{"data without ./", "data: d\n", nil, "data: DIR/d  # file", ""},
		{"data absolute", "data: /var/lib/smki\n", nil, "data: /var/lib/smki  # file", ""},
		{"data parent", "data: ../d\n", nil, "data: PARENT/d  # file", ""},
		{"leading document marker", "---\ndata: ./d\n", nil, "data: DIR/d  # file", ""},
		{"data flag stays relative", "data: ./d\n", []string{"--data", "./x"}, "data: ./x  # flag", ""},
		{"store bbolt", "store: bbolt:db/smki.db?batch=2ms\n", nil, "store: bbolt:DIR/db/smki.db?batch=2ms  # file", ""},
		{"store postgres", "store: postgres://smki@db/smki?passfile=/etc/smki/pgpass\n", nil, "store: postgres://smki@db/smki?passfile=/etc/smki/pgpass  # file", ""},
		{"passphrase file", "passphrase_file: pass\n", nil, "passphrase_file: DIR/pass  # file", ""},
		{"tls cert and key", "tls:\n  cert: tls/ra.pem\n  key: tls/ra.key\n", nil, "  cert: DIR/tls/ra.pem  # file", ""},
		{"tls key", "tls:\n  cert: tls/ra.pem\n  key: tls/ra.key\n", nil, "  key: DIR/tls/ra.key  # file", ""},
		{"ready file", "ready_file: run/ready\n", nil, "ready_file: DIR/run/ready  # file", ""},
		{"listen is no path", "listen: 127.0.0.1:9\n", nil, "listen: 127.0.0.1:9  # file", ""},
		{"kms relative pin-source", "kms: pkcs11:token=smki?pin-source=pin\n", nil, "", "smki.yaml:1: kms: pin-source \"pin\" is relative"},
		{"kms absolute pin-source", "kms: pkcs11:token=smki?pin-source=/etc/smki/pin\n", nil, "kms: pkcs11:token=smki?pin-source=/etc/smki/pin  # file", ""},
		{"postgres relative passfile", "store: postgres://smki@db/smki?passfile=pgpass\n", nil, "", "smki.yaml:1: store: passfile \"pgpass\" is relative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parent := t.TempDir()
			dir := filepath.Join(parent, "etc")
			os.Mkdir(dir, 0o700)
			conf := filepath.Join(dir, "smki.yaml")
			os.WriteFile(conf, []byte(tt.file), 0o600)
			var out, errb bytes.Buffer
			args := append([]string{"smki", "serve", "--config", conf, "--print-config"}, tt.args...)
			code := cli.Main(args, nil, &out, &errb)
			if tt.wantErr != "" {
				if code != verb.ExitUsage || !strings.Contains(errb.String(), tt.wantErr) {
					t.Fatalf("exit %d, stderr %q; want exit 2 and %q", code, errb.String(), tt.wantErr)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			want := strings.NewReplacer("PARENT", parent, "DIR", dir).Replace(tt.want)
			if !strings.Contains(out.String(), want) {
				t.Errorf("--print-config lacks %q:\n%s", want, out.String())
			}
		})
	}
}

// TestServeConfigNeedsData: a server run from a config file that sets no
// data directory (nor --data, nor SMKI_DATA) is refused, naming the file:
// the default ./data would be taken against the working directory, which
// is / under systemd, and would start a server on a new, empty directory.
// --print-config still shows the default and its source. (The bad store
// spec makes the old behaviour fail fast instead of serving from ./data.)
func TestServeConfigNeedsData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "smki.yaml")
	if err := os.WriteFile(conf, []byte("dev: true\nlisten: 127.0.0.1:0\nstore: mysql://h/db\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := cli.Main([]string{"smki", "serve", "--config", conf}, nil, &out, &errb)
	if code != verb.ExitUsage || !strings.Contains(errb.String(), conf+": data is not set") {
		t.Fatalf("exit %d, stderr %q; want exit 2 and %q", code, errb.String(), conf+": data is not set")
	}
	out.Reset()
	errb.Reset()
	if code := cli.Main([]string{"smki", "serve", "--config", conf, "--print-config"}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "data: ./data  # default") {
		t.Fatalf("--print-config: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

// TestServeConfigFileUnreadable: a config file that is missing, is a
// directory or is over the size cap (read whole before, whatever its size)
// is refused (exit 2; E_CONFIG, or E_FILE_TOO_LARGE over the cap, from
// internal/opfile) naming the file and why in smki's words,
// not the operating system's "open ...: ..." text.
func TestServeConfigFileUnreadable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(opfile.MaxConfig + 1); err != nil { // sparse
		t.Fatal(err)
	}
	f.Close()
	for _, tt := range []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "nope.yaml"), "E_CONFIG: config file " + filepath.Join(dir, "nope.yaml") + " cannot be read: there is no such file"},
		{"a directory", dir, "E_CONFIG: config file " + dir + " cannot be read: it is a directory"},
		{"over the cap", big, fmt.Sprintf("E_FILE_TOO_LARGE: %s is over %d bytes", big, opfile.MaxConfig)},
	} {
		var out, errb bytes.Buffer
		code := cli.Main([]string{"smki", "serve", "--config", tt.path}, nil, &out, &errb)
		msg := errb.String()
		if code != verb.ExitUsage || !strings.Contains(msg, tt.want) || strings.Contains(msg, "open ") {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", tt.name, code, msg, tt.want)
		}
	}
}
