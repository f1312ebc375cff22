package servecmd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	ucli "github.com/urfave/cli/v2"
	yaml "go.yaml.in/yaml/v3"

	"github.com/smki/smki/cli/cacmd"
	"github.com/smki/smki/cli/storecmd"
	"github.com/smki/smki/cli/verb"
	"github.com/smki/smki/internal/opfile"
	"github.com/smki/smki/server"
)

// The server's configuration comes from four places, first found wins:
// a flag, its environment variable, the config file (--config or
// $SMKI_CONFIG, YAML), the default. serveSettings is the one table that
// ties each file key to its flag (and through the flag to its environment
// variable and default); docs/operations.md's table is generated from it.

// settingKind is how a setting's value is written in the file.
type settingKind int

const (
	kindString settingKind = iota
	kindBool
	kindDuration
	kindList
	kindPath // a file or directory; relative in the file means relative to the file
)

// serveSetting is one server setting.
type serveSetting struct {
	key  string // config file key; "tls.names" is names under tls:
	kind settingKind
	flag ucli.Flag
}

func (s serveSetting) name() string { return s.flag.Names()[0] }

func (s serveSetting) envVar() string {
	if f, ok := s.flag.(ucli.DocGenerationFlag); ok {
		if env := f.GetEnvVars(); len(env) > 0 {
			return env[0]
		}
	}
	return ""
}

func (s serveSetting) defaultValue() string {
	if f, ok := s.flag.(ucli.DocGenerationFlag); ok {
		return f.GetValue()
	}
	return ""
}

// serveSettings lists every `smki serve` setting. Secrets are files named
// here, never values: the CA passphrase by passphrase_file, a PKCS#11 PIN
// by pin-source in the KMS URI, a PostgreSQL password by passfile in the
// store URL (or PGPASSFILE).
func serveSettings() []serveSetting {
	pf := cacmd.PassphraseFlags() // passphrase-file, kms: shared with the ca verbs
	return []serveSetting{
		{"data", kindPath, &ucli.StringFlag{Name: "data", Usage: "data directory", Value: "./data", EnvVars: []string{"SMKI_DATA"}}},
		{"listen", kindString, &ucli.StringFlag{Name: "listen", Usage: "address to serve HTTPS on (host:port; 0.0.0.0:8443 for every interface)", Value: server.DefaultListen, EnvVars: []string{"SMKI_LISTEN"}}},
		{"store", kindString, storecmd.StoreFlag()},
		{"passphrase_file", kindPath, pf[0]},
		{"kms", kindString, pf[1]},
		{"offline_root", kindBool, &ucli.BoolFlag{Name: "offline-root", EnvVars: []string{"SMKI_OFFLINE_ROOT"},
			Usage: "run without the Root OCA key: the ARL is issued at the key ceremony (smki ca arl) and installed with smki ca import-arl"}},
		{"require_officer_csr", kindBool, &ucli.BoolFlag{Name: "require-officer-csr", EnvVars: []string{"SMKI_REQUIRE_OFFICER_CSR"},
			Usage: "certify only officer keys the appointee generated (smki officer keygen; officer add --csr)"}},
		{"reconcile_after", kindDuration, &ucli.StringFlag{Name: "reconcile-after", EnvVars: []string{"SMKI_RECONCILE_AFTER"},
			Usage: "age at which an open issuance intent is settled (default: 0 on bbolt, the only writer; 2m on PostgreSQL, where it may be another instance's)"}},
		{"tls.names", kindList, &ucli.StringSliceFlag{Name: "tls-name", EnvVars: []string{"SMKI_TLS_NAMES"},
			Usage: "DNS name or IP address clients reach the server by, put in its TLS certificate (repeatable; the environment variable takes a comma-separated list); localhost and the loopback addresses are always in it"}},
		{"tls.cert", kindPath, &ucli.StringFlag{Name: "tls-cert", EnvVars: []string{"SMKI_TLS_CERT"},
			Usage: "serve this PEM certificate chain (e.g. from a corporate CA) instead of one from the RA access CA; reloaded on SIGHUP"}},
		{"tls.key", kindPath, &ucli.StringFlag{Name: "tls-key", EnvVars: []string{"SMKI_TLS_KEY"},
			Usage: "private key file for --tls-cert (PEM); reloaded on SIGHUP"}},
		{"metrics_listen", kindString, &ucli.StringFlag{Name: "metrics-listen", EnvVars: []string{"SMKI_METRICS_LISTEN"},
			Usage: "also serve GET /metrics over plain HTTP on this address (host:port), for a Prometheus without an officer credential; bind it to loopback or a management network (on --listen, /metrics needs an officer's client certificate)"}},
		{"http.idle_timeout", kindDuration, &ucli.StringFlag{Name: "http-idle-timeout", Value: server.DefaultIdleTimeout.String(), EnvVars: []string{"SMKI_HTTP_IDLE_TIMEOUT"},
			Usage: "close a kept-alive connection that sends no request for this long"}},
		{"http.read_timeout", kindDuration, &ucli.StringFlag{Name: "http-read-timeout", Value: server.DefaultReadTimeout.String(), EnvVars: []string{"SMKI_HTTP_READ_TIMEOUT"},
			Usage: "longest time to read one request body (the TLS handshake and request headers always have 10s)"}},
		{"http.write_timeout", kindDuration, &ucli.StringFlag{Name: "http-write-timeout", Value: server.DefaultWriteTimeout.String(), EnvVars: []string{"SMKI_HTTP_WRITE_TIMEOUT"},
			Usage: "longest time to write one answer; the feed long poll, store backup and revocation progress streams keep their own deadlines"}},
		{"http.max_conns_per_client", kindString, &ucli.StringFlag{Name: "http-max-conns-per-client", Value: fmt.Sprint(server.DefaultMaxConnsPerClient), EnvVars: []string{"SMKI_HTTP_MAX_CONNS_PER_CLIENT"},
			Usage: "most connections one client IP address may hold open at once; more are closed on accept"}},
		{"min_free_mb", kindString, &ucli.StringFlag{Name: "min-free-mb", Value: fmt.Sprint(server.DefaultMinFreeBytes >> 20), EnvVars: []string{"SMKI_MIN_FREE_MB"},
			Usage: "GET /readyz fails while the bbolt store's filesystem has fewer MiB free than this"}},
		{"gc_percent", kindString, &ucli.StringFlag{Name: "gc-percent", Value: fmt.Sprint(DefaultGCPercent), EnvVars: []string{"SMKI_GC_PERCENT"},
			Usage: "the Go garbage collector's target: the heap grows to this percent above what is live before a collection (Go's default is 100; a GOGC environment variable is used instead of this default)"}},
		{"log.format", kindString, &ucli.StringFlag{Name: "log-format", EnvVars: []string{"SMKI_LOG_FORMAT"},
			Usage: "log format: text or json (default: text when stderr is a terminal, json otherwise); with json the start banner is a log record too, not text on stdout"}},
		{"log.level", kindString, &ucli.StringFlag{Name: "log-level", Value: "info", EnvVars: []string{"SMKI_LOG_LEVEL"},
			Usage: "log level: debug, info, warn or error"}},
		{"ready_file", kindPath, &ucli.StringFlag{Name: "ready-file", EnvVars: []string{"SMKI_READY_FILE"},
			Usage: "write the listening address to this file once serving (for scripts and tests)"}},
		{"dev", kindBool, &ucli.BoolFlag{Name: "dev", Usage: "development mode: initialise everything on first start"}},
		{"recover_bootstrap", kindBool, &ucli.BoolFlag{Name: "recover-bootstrap",
			Usage: "break-glass: re-issue the bootstrap admin and approver credentials into DATA/officers if missing or superseded (their old credentials stop working)"}},
	}
}

// DefaultGCPercent is gc_percent's default: the garbage collector runs
// when the heap has grown 400% over what is live, not Go's 100%. An
// enrolment allocates about 0.3 MB (bbolt's pages as nodes, TLS, JSON); at
// 100 the collector took about a fifth of an enrolment's CPU
// (BenchmarkEnrolHTTPS, GOGC=100 against 400: CPU per enrolment 1,290 and
// 1,330 µs against 1,080 and 1,000; enrolments a second 1,400 against
// 1,800 and 1,920 with the store on tmpfs, 970-1,110 against 1,140-1,290
// on disk). The price is memory: the heap peaks at about five times what
// is live (docs/operations.md, "Memory").
const DefaultGCPercent = 400

// gcPercent is the collector target to set from gc_percent, or apply
// false: the setting was left at its default and the environment has
// GOGC (getenv), which the Go runtime has applied already.
func gcPercent(rs map[string]resolved, getenv func(string) string) (n int, apply bool, err error) {
	r := rs["gc_percent"]
	if r.source == "default" && getenv("GOGC") != "" {
		return 0, false, nil
	}
	n, err = strconv.Atoi(r.scalar)
	if err != nil || n < 50 || n > 10000 {
		return 0, false, verb.UsageErr("gc_percent %q (%s): want a whole number from 50 to 10000, e.g. %d", r.scalar, r.source, DefaultGCPercent)
	}
	return n, true, nil
}

// fileValue is one setting as the config file wrote it.
type fileValue struct {
	scalar string
	list   []string
	line   int
}

// loadServeFile reads a server config file: a YAML mapping of the keys in
// serveSettings (tls, log and http are mappings of their own), one YAML
// document. Unknown or repeated keys or sections, a second document and
// values of the wrong kind are refused with FILE:LINE, as are secrets
// written inline. A relative path in the file is resolved
// against the file's directory (filePath), whatever the working directory.
func loadServeFile(path string) (map[string]fileValue, error) {
	b, err := opfile.Read(path, opfile.MaxConfig)
	if errors.Is(err, opfile.ErrTooLarge) {
		return nil, verb.WithCode(verb.ExitUsage, err)
	}
	if err != nil {
		why := verb.IOReason(err)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			why = "there is no such file"
		case errors.Is(err, syscall.EISDIR):
			why = "it is a directory"
		}
		return nil, verb.UsageErr("E_CONFIG: config file %s cannot be read: %s; give the YAML file (deploy/smki.example.yaml shows one)", path, why)
	}
	base, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, verb.UsageErr("E_CONFIG: config file %s: its directory cannot be found (the working directory is gone); give an absolute path", path)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, yamlRefusal(path, b, err)
	}
	// One document: a second one (after ---) would otherwise be dropped
	// unread, and with it whatever the operator meant it to set.
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		line := next.Line
		if err != nil || line == 0 {
			line = docEnd(b)
		}
		return nil, verb.UsageErr("E_CONFIG: %s:%d: a second YAML document (---): the config file is one document; merge its settings into the first", path, line)
	}
	out := map[string]fileValue{}
	if doc.Kind == 0 { // empty file
		return out, nil
	}
	sections := map[string]bool{}
	known := map[string]serveSetting{}
	for _, s := range serveSettings() {
		known[s.key] = s
	}
	bad := func(n *yaml.Node, format string, a ...any) error {
		return verb.UsageErr("E_CONFIG: %s:%d: %s", path, n.Line, fmt.Sprintf(format, a...))
	}
	var walk func(prefix string, m *yaml.Node) error
	walk = func(prefix string, m *yaml.Node) error {
		if m.Kind != yaml.MappingNode {
			return bad(m, "want a mapping of settings (key: value)")
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			key := prefix + k.Value
			if _, dup := out[key]; dup {
				return bad(k, "%s is set twice", key)
			}
			if prefix == "" && (k.Value == "tls" || k.Value == "log" || k.Value == "http") {
				if sections[key] {
					return bad(k, "%s is set twice: put all its keys under one %s:", key, key)
				}
				sections[key] = true
				if err := walk(key+".", v); err != nil {
					return err
				}
				continue
			}
			s, ok := known[key]
			if !ok {
				if strings.Contains(key, "passphrase") || strings.Contains(key, "password") || strings.Contains(key, "pin") {
					return bad(k, "unknown key %q: secrets are never inline; name a file (passphrase_file, pin-source in kms, passfile in store)", key)
				}
				return bad(k, "unknown key %q (known: %s)", key, strings.Join(settingKeys(), ", "))
			}
			fv := fileValue{line: k.Line}
			switch s.kind {
			case kindList:
				if v.Kind != yaml.SequenceNode {
					return bad(v, "%s wants a list, e.g. [ra.example.org, 192.0.2.10]", key)
				}
				for _, e := range v.Content {
					if e.Kind != yaml.ScalarNode {
						return bad(e, "%s: each entry is one name", key)
					}
					fv.list = append(fv.list, e.Value)
				}
			case kindBool:
				if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
					return bad(v, "%s wants true or false", key)
				}
				fv.scalar = v.Value
			default:
				if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
					return bad(v, "%s wants a value", key)
				}
				fv.scalar = v.Value
			}
			if err := inlineSecret(key, fv.scalar); err != "" {
				return bad(v, "%s", err)
			}
			var perr string
			if fv.scalar, perr = filePath(base, s, fv.scalar); perr != "" {
				return bad(v, "%s", perr)
			}
			out[key] = fv
		}
		return nil
	}
	if err := walk("", doc.Content[0]); err != nil {
		return nil, err
	}
	return out, nil
}

// docEnd is the line of the second document's marker (---) in a config
// file, for a second document yaml gives no line for; 0 if none is found.
// A marker on the first line starts the first document.
func docEnd(b []byte) int {
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimRight(l, "\r")
		if i > 0 && (l == "---" || strings.HasPrefix(l, "--- ")) {
			return i + 1
		}
	}
	return 0
}

// filePath is the one owner of the rule for paths in a config file: a
// relative path is relative to the file's directory base, not to the
// working directory (which is / under systemd). It returns v with its path
// resolved, or why v cannot be used: a relative file path inside a URI
// (kms pin-source or module-path, a PostgreSQL passfile) is handed to a
// library that would resolve it against the working directory, so it is
// refused rather than rewritten. Flags and environment variables are not
// passed through here: their relative paths stay relative to the working
// directory.
func filePath(base string, s serveSetting, v string) (string, string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	switch {
	case s.kind == kindPath:
		return abs(v), ""
	case s.key == "store" && strings.HasPrefix(v, "bbolt:"):
		p, query, _ := strings.Cut(strings.TrimPrefix(v, "bbolt:"), "?")
		if query != "" {
			query = "?" + query
		}
		return "bbolt:" + abs(p) + query, ""
	case s.key == "store":
		return v, relativeInURI("store", v, "passfile")
	case s.key == "kms":
		return v, relativeInURI("kms", v, "pin-source", "module-path")
	}
	return v, ""
}

// relativeInURI says which of a URI's file parameters (params) holds a
// relative path, or "". A bare module-path (libsofthsm2.so, no slash) is
// a library name the loader searches for, not a path.
func relativeInURI(key, uri string, params ...string) string {
	for _, part := range strings.FieldsFunc(uri, func(r rune) bool { return r == '?' || r == '&' || r == ';' }) {
		name, val, ok := strings.Cut(part, "=")
		if i := strings.LastIndexByte(name, ':'); i >= 0 && !strings.Contains(name, "//") {
			name = name[i+1:] // pkcs11:module-path=...
		}
		if !ok || val == "" || filepath.IsAbs(val) {
			continue
		}
		for _, p := range params {
			if strings.EqualFold(name, p) && (p != "module-path" || strings.Contains(val, "/")) {
				return fmt.Sprintf("%s: %s %q is relative: in a config file write it as an absolute path (the library reading it would resolve it against the working directory, / under systemd)", key, p, val)
			}
		}
	}
	return ""
}

// inlineSecret says why a file value holds a secret it must not, or "".
func inlineSecret(key, v string) string {
	switch key {
	case "store":
		if server.RedactURL(v) != v {
			return "store holds a password: put it in a passfile (passfile=PATH in the URL, or $PGPASSFILE); secrets are never inline"
		}
	case "kms":
		if strings.Contains(strings.ToLower(v), "pin-value=") {
			return "kms holds a PIN: use pin-source=FILE instead of pin-value; secrets are never inline"
		}
	}
	return ""
}

func settingKeys() []string {
	var ks []string
	for _, s := range serveSettings() {
		ks = append(ks, s.key)
	}
	return ks
}

// resolved is a setting's effective value and where it came from.
type resolved struct {
	setting serveSetting
	scalar  string
	list    []string
	source  string // "flag", "env SMKI_X", "file PATH:LINE", "default"
}

// resolveServe applies flag > environment > file > default to every
// setting.
func resolveServe(c *ucli.Context) (map[string]resolved, error) {
	file := map[string]fileValue{}
	path := c.String("config")
	if path != "" {
		var err error
		if file, err = loadServeFile(path); err != nil {
			return nil, err
		}
	}
	args, _ := c.App.Metadata["args"].([]string)
	out := map[string]resolved{}
	for _, s := range serveSettings() {
		r := resolved{setting: s, source: "default", scalar: s.defaultValue()}
		name := s.name()
		switch fv, inFile := file[s.key]; {
		case c.IsSet(name):
			r.source = "flag"
			if env := s.envVar(); env != "" && !onCommandLine(args, name) {
				r.source = "env " + env
			}
			if s.kind == kindList {
				r.list = c.StringSlice(name)
			} else if s.kind == kindBool {
				r.scalar = fmt.Sprint(c.Bool(name))
			} else {
				r.scalar = c.String(name)
			}
		case inFile:
			r.source = fmt.Sprintf("file %s:%d", path, fv.line)
			r.scalar, r.list = fv.scalar, fv.list
		}
		if r.source == "default" && s.kind == kindBool {
			r.scalar = "false"
		}
		out[s.key] = r
	}
	return out, nil
}

// onCommandLine reports whether --name (or -name, with or without =value)
// is among args.
func onCommandLine(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// serverConfig turns resolved settings into a server.Config (with the
// logger and the ready file, which stay with the CLI).
func serverConfig(c *ucli.Context, rs map[string]resolved) (server.Config, string, error) {
	get := func(k string) string { return rs[k].scalar }
	if conf := c.String("config"); conf != "" && rs["data"].source == "default" {
		// The default ./data is relative to the working directory, which
		// is / under systemd: a server started from a file must say where
		// its keys and store are, not start afresh on /data.
		return server.Config{}, "", verb.UsageErr("E_CONFIG: %s: data is not set; a server started from a config file needs its data directory named: add data: /var/lib/smki (or the directory holding its keys) to the file, or give --data", conf)
	}
	on := func(k string) bool { return get(k) == "true" }
	cfg := server.Config{
		DataDir:           get("data"),
		Listen:            get("listen"),
		Store:             get("store"),
		KMS:               get("kms"),
		Dev:               on("dev"),
		RecoverBootstrap:  on("recover_bootstrap"),
		RequireOfficerCSR: on("require_officer_csr"),
		OfflineRoot:       on("offline_root"),
		TLSNames:          rs["tls.names"].list,
		TLSCertFile:       get("tls.cert"),
		TLSKeyFile:        get("tls.key"),
	}
	pass, err := cacmd.ReadPassphrase(get("passphrase_file"))
	if err != nil {
		return cfg, "", err
	}
	cfg.Passphrase = pass
	if v := get("reconcile_after"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return cfg, "", verb.UsageErr("reconcile_after %q (%s): want a duration >= 0, e.g. 2m", v, rs["reconcile_after"].source)
		}
		cfg.ReconcileAfter = &d
	}
	cfg.MetricsListen = get("metrics_listen")
	for _, t := range []struct {
		key string
		dst *time.Duration
	}{{"http.idle_timeout", &cfg.IdleTimeout}, {"http.read_timeout", &cfg.ReadTimeout}, {"http.write_timeout", &cfg.WriteTimeout}} {
		v := get(t.key)
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return cfg, "", verb.UsageErr("%s %q (%s): want a duration > 0, e.g. 60s", t.key, v, rs[t.key].source)
		}
		*t.dst = d
	}
	if v := get("http.max_conns_per_client"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return cfg, "", verb.UsageErr("http.max_conns_per_client %q (%s): want a whole number > 0, e.g. 256", v, rs["http.max_conns_per_client"].source)
		}
		cfg.MaxConnsPerClient = n
	}
	if v := get("min_free_mb"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return cfg, "", verb.UsageErr("min_free_mb %q (%s): want a whole number of MiB > 0, e.g. 64", v, rs["min_free_mb"].source)
		}
		cfg.MinFreeBytes = n << 20
	}
	if cfg.Logger, err = newLogger(c.App.ErrWriter, get("log.format"), get("log.level")); err != nil {
		return cfg, "", err
	}
	return cfg, get("ready_file"), nil
}

// logFormat is the log format in force: format, or "" resolved as text
// when w is a terminal, json otherwise.
func logFormat(w io.Writer, format string) string {
	if format != "" {
		return format
	}
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		return "text"
	}
	return "json"
}

// newLogger builds the server log: text (durations read as 12.3ms) or
// JSON, at level; format "" is text on a terminal, JSON otherwise.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, verb.UsageErr("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch logFormat(w, format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, verb.UsageErr("log format %q: want text or json", format)
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// printConfig writes the effective configuration as a config file, each
// key with its source, secrets redacted.
func printConfig(w io.Writer, rs map[string]resolved) error {
	var b strings.Builder
	b.WriteString("# smki serve: effective configuration (source of each value in the comment)\n")
	section := ""
	for _, s := range serveSettings() {
		r := rs[s.key]
		key := s.key
		if i := strings.IndexByte(key, '.'); i >= 0 {
			if sec := key[:i]; sec != section {
				fmt.Fprintf(&b, "%s:\n", sec)
				section = sec
			}
			key = "  " + key[i+1:]
		} else {
			section = ""
		}
		var val string
		switch {
		case s.kind == kindList:
			val = "[" + strings.Join(r.list, ", ") + "]"
		case s.key == "store":
			val = server.RedactURL(r.scalar)
		case s.key == "kms":
			val = redactPIN(r.scalar)
		default:
			val = r.scalar
		}
		if val == "" {
			val = `""`
		}
		fmt.Fprintf(&b, "%s: %s  # %s\n", key, val, r.source)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// redactPIN hides a pin-value in a KMS URI.
func redactPIN(uri string) string {
	lower := strings.ToLower(uri)
	i := strings.Index(lower, "pin-value=")
	if i < 0 {
		return uri
	}
	j := i + len("pin-value=")
	end := len(uri)
	if k := strings.IndexAny(uri[j:], "&;"); k >= 0 {
		end = j + k
	}
	return uri[:j] + "xxxxx" + uri[end:]
}

// settingsTable is the Markdown table of every serve setting: file key,
// flag, environment variable, default (docs/operations.md).
func SettingsTable() string {
	var b strings.Builder
	b.WriteString("| File key | Flag | Environment | Default | Meaning |\n|---|---|---|---|---|\n")
	for _, s := range serveSettings() {
		env, def := s.envVar(), s.defaultValue()
		if env == "" {
			env = "—"
		} else {
			env = "`" + env + "`"
		}
		if def == "" {
			def = "—"
		} else {
			def = "`" + def + "`"
		}
		usage := ""
		if f, ok := s.flag.(ucli.DocGenerationFlag); ok {
			usage = f.GetUsage()
		}
		fmt.Fprintf(&b, "| `%s` | `--%s` | %s | %s | %s |\n", s.key, s.name(), env, def, strings.ReplaceAll(usage, "|", "\\|"))
	}
	return b.String()
}
