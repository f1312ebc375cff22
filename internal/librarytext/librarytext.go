// Package librarytext recognises text from the libraries under smki that
// must never reach a user (issue 14, "no raw library text"): crypto/x509,
// encoding/asn1, encoding/json, go.yaml.in/yaml, strconv, bbolt, pgx/PostgreSQL, net, TLS
// and the runtime. Every refusal is an E_* code with a sentence of smki's
// own; internals go to the server log. Tests use it to scan the answers
// the RA API and the CLI give (ra/raserver, e2e).
package librarytext

import "regexp"

var pattern = regexp.MustCompile(`(?i)\bx509: |\basn1: |structure error|(?:^|[^.\w])json: |(?:^|[^.\w])yaml: |invalid character|cannot unmarshal|` +
	`\bstrconv\.|invalid syntax|value out of range|\bbolt(db)?: |\bbbolt\b|database not open|\bpgx?\b|\bpgconn\b|SQLSTATE|` +
	`\bpq: |\btls: |\bi/o timeout|connection reset|broken pipe|unexpected EOF|runtime error|goroutine |panic|` +
	`\bopen /|no such file or directory|\bcrypto/|ecdsa: |run Init first|illegal base64 data|\bdial tcp\b|connection refused|\bGet "`)

// Find returns the first piece of library text in s, or "".
func Find(s string) string { return pattern.FindString(s) }

// FindAll returns every piece of library text in s.
func FindAll(s string) []string { return pattern.FindAllString(s, -1) }
