package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/smki/smki/internal/dccx509"
	"github.com/smki/smki/internal/durable"
)

// ErrMirror: the mirror could not be brought up to date; what it already
// holds is unchanged or consistent, and rerunning carries on.
var ErrMirror = errors.New("E_REPO_MIRROR")

// Bounds of what a mirror accepts from the repository it copies.
const (
	maxMirrorFile    = 1 << 20  // a certificate, its JSON, the index
	maxMirrorChanges = 16 << 20 // a changes page with its certificates
	maxMirrorCRL     = 64 << 20 // a CRL
	maxRateRetries   = 20       // 429 answers waited out per request
	// mirrorPage is the changes page size a mirror asks for: each entry
	// carries its certificate (about 2 KB), so a page is about 1 MB.
	mirrorPage = 500
)

// MirrorOptions configures Mirror.
type MirrorOptions struct {
	// BaseURL is the live repository's server, e.g. https://ra.example:8443
	// (the tree is fetched from BaseURL + Prefix).
	BaseURL string
	// Out is the mirror's root directory: the tree is written under
	// Out/repo/, so that a web server serving Out answers the same URLs.
	Out    string
	Client *http.Client // default http.DefaultClient

	pageSize int // changes entries per request (default mirrorPage); tests set it small
}

// MirrorStats says what one Mirror run did.
type MirrorStats struct {
	IssuanceSeq, RevocationSeq uint64 // the sequences the mirror now reflects
	Issued, Revoked            int    // certificates new to the mirror, revocations applied
	Fetched                    int    // HTTP requests answered 200
	Unchanged                  int    // conditional requests answered 304
}

// Mirror brings the static copy of the repository at opts.Out up to date
// with the live one at opts.BaseURL. It is incremental: the mirror's own
// index.json records the issuance and revocation sequences it reflects,
// and only certificates issued or revoked since are fetched (the CRLs and
// CA certificates are asked for conditionally, by the ETag of the copy
// held). Every file is replaced atomically; index.json is written last,
// so an interrupted run leaves a tree that the next run completes.
//
// Search and changes are not files: a mirror serves everything else.
func Mirror(ctx context.Context, opts MirrorOptions) (MirrorStats, error) {
	var st MirrorStats
	if opts.Client == nil {
		opts.Client = http.DefaultClient
	}
	if opts.Out == "" || opts.BaseURL == "" {
		return st, fmt.Errorf("%w: a repository URL and an output directory are required", ErrMirror)
	}
	m := &mirror{opts: opts, base: strings.TrimRight(opts.BaseURL, "/"), root: filepath.Join(opts.Out, filepath.FromSlash(strings.Trim(Prefix, "/"))), st: &st}
	for _, d := range []string{"ca", "crl", "certs"} {
		if err := os.MkdirAll(filepath.Join(m.root, d), 0o755); err != nil {
			return st, fmt.Errorf("%w: %v", ErrMirror, err)
		}
	}
	var have Index
	if b, err := os.ReadFile(filepath.Join(m.root, "index.json")); err == nil {
		if err := json.Unmarshal(b, &have); err != nil {
			return st, fmt.Errorf("%w: %s/index.json does not parse; remove the mirror directory and mirror again", ErrMirror, m.root)
		}
	}
	indexBody, _, err := m.get(ctx, "index.json", "", maxMirrorFile)
	if err != nil {
		return st, err
	}
	indexModified := m.lastModified
	var want Index
	if err := json.Unmarshal(indexBody, &want); err != nil {
		return st, fmt.Errorf("%w: the repository's index.json does not parse: is %s an smki repository?", ErrMirror, m.base)
	}
	if want.IssuanceSeq < have.IssuanceSeq || want.RevocationSeq < have.RevocationSeq {
		return st, fmt.Errorf("%w: the repository is behind this mirror (issuance %d < %d or revocation %d < %d): is it the same store?",
			ErrMirror, want.IssuanceSeq, have.IssuanceSeq, want.RevocationSeq, have.RevocationSeq)
	}

	// What changed since the mirror's sequences, up to the index's, with
	// each certificate's DER and description in the same pages: a first
	// copy of N certificates costs N/mirrorPage requests, not 3N, and so
	// stays within the repository's per-address rate limit. A later page
	// is a later read, so its description of a certificate wins.
	type newCert struct {
		der  []byte
		desc *Cert
	}
	issued, revoked := map[string]*newCert{}, map[string]*Cert{}
	var order []string
	page := opts.pageSize
	if page <= 0 {
		page = mirrorPage
	}
	for iss, rev := have.IssuanceSeq, have.RevocationSeq; iss < want.IssuanceSeq || rev < want.RevocationSeq; {
		b, _, err := m.get(ctx, "changes?issued_after="+strconv.FormatUint(iss, 10)+"&revoked_after="+strconv.FormatUint(rev, 10)+
			"&limit="+strconv.Itoa(page)+"&include=certificates", "", maxMirrorChanges)
		if err != nil {
			return st, err
		}
		var ch Changes
		if err := json.Unmarshal(b, &ch); err != nil {
			return st, fmt.Errorf("%w: a changes page does not parse", ErrMirror)
		}
		progressed := false
		for _, c := range ch.Issued {
			if c.Seq <= iss || c.Seq > want.IssuanceSeq {
				continue
			}
			if err := checkChange(c, true); err != nil {
				return st, err
			}
			iss, progressed = c.Seq, true
			if issued[c.Serial] == nil {
				order = append(order, c.Serial)
			}
			issued[c.Serial] = &newCert{der: c.DER, desc: c.Certificate}
		}
		for _, c := range ch.Revoked {
			if c.Seq <= rev || c.Seq > want.RevocationSeq {
				continue
			}
			if err := checkChange(c, false); err != nil {
				return st, err
			}
			rev, progressed = c.Seq, true
			revoked[c.Serial] = c.Certificate
			if n := issued[c.Serial]; n != nil {
				n.desc = c.Certificate
			}
		}
		if !progressed {
			return st, fmt.Errorf("%w: the repository's changes stop at issuance %d, revocation %d, short of its index", ErrMirror, iss, rev)
		}
	}
	for _, serial := range order {
		n := issued[serial]
		pemBody := pemCert(n.der)
		// The DER first (what a verifier fetches) and the description
		// last: a run that dies midway never leaves a certificate
		// described but not there.
		for _, f := range []struct {
			name string
			body []byte
		}{{serial + ".der", n.der}, {serial, pemBody}, {serial + ".pem", pemBody}, {serial + ".json", jsonBody(n.desc)}} {
			if err := m.write("certs/"+f.name, f.body); err != nil {
				return st, err
			}
		}
		st.Issued++
	}
	for serial, desc := range revoked {
		if issued[serial] == nil { // a new certificate's JSON is already current
			if err := m.write("certs/"+serial+".json", jsonBody(desc)); err != nil {
				return st, err
			}
		}
		st.Revoked++
	}
	for _, name := range []string{"ca/root.pem", "ca/root.der", "ca/issuing.pem", "ca/issuing.der"} {
		if err := m.file(ctx, name, maxMirrorFile, true); err != nil {
			return st, err
		}
	}
	for _, name := range []string{"crl/orl.crl", "crl/arl.crl"} {
		if err := m.file(ctx, name, maxMirrorCRL, true); err != nil && !errors.Is(err, errAbsent) {
			return st, err
		}
	}
	if err := m.write("index.json", indexBody); err != nil {
		return st, err
	}
	// The file's time is the live index's Last-Modified, which a
	// DirHandler serving the mirror gives in turn.
	if !indexModified.IsZero() {
		if err := os.Chtimes(filepath.Join(m.root, "index.json"), indexModified, indexModified); err != nil {
			return st, fmt.Errorf("%w: dating index.json: %v", ErrMirror, err)
		}
	}
	st.IssuanceSeq, st.RevocationSeq = want.IssuanceSeq, want.RevocationSeq
	return st, nil
}

type mirror struct {
	opts MirrorOptions
	base string
	root string
	st   *MirrorStats
	// lastModified is the Last-Modified of the latest 200 answer (zero if
	// it had none).
	lastModified time.Time
}

// errAbsent: the repository answered 404 (a CRL not yet published).
var errAbsent = errors.New("absent")

// checkChange checks what a changes page says about one certificate
// before the mirror writes it: a canonical serial, its description (and,
// for an issued entry, its DER) included and about that serial.
func checkChange(c Change, withDER bool) error {
	switch {
	case !CanonicalSerial(c.Serial):
		return fmt.Errorf("%w: the repository listed serial %q", ErrMirror, c.Serial)
	case c.Certificate == nil || c.Certificate.Serial != c.Serial || (withDER && len(c.DER) == 0):
		return fmt.Errorf("%w: the repository's changes for %s lack the certificate: is it an older smki? Upgrade it", ErrMirror, c.Serial)
	case withDER:
		cert, err := dccx509.ParseCertificate(c.DER)
		if err != nil || cert.SerialNumber.Text(16) != c.Serial {
			return fmt.Errorf("%w: the repository's certificate for %s is not that certificate", ErrMirror, c.Serial)
		}
	}
	return nil
}

// file fetches name and writes it; conditional asks with the ETag of the
// copy held, and a 304 leaves it.
func (m *mirror) file(ctx context.Context, name string, limit int64, conditional bool) error {
	etag := ""
	if conditional {
		if b, err := os.ReadFile(filepath.Join(m.root, filepath.FromSlash(name))); err == nil {
			etag = ETag(b)
		}
	}
	body, notModified, err := m.get(ctx, name, etag, limit)
	if err != nil || notModified {
		return err
	}
	return m.write(name, body)
}

func (m *mirror) write(name string, body []byte) error {
	p := filepath.Join(m.root, filepath.FromSlash(name))
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, body) {
		return nil
	}
	if err := durable.Replace(p, body, 0o644); err != nil {
		return fmt.Errorf("%w: writing %s: %v", ErrMirror, p, err)
	}
	return nil
}

// get fetches Prefix+name, waiting out 429 answers as Retry-After says.
func (m *mirror) get(ctx context.Context, name, etag string, limit int64) (body []byte, notModified bool, err error) {
	u := m.base + Prefix + name
	for try := 0; ; try++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, false, fmt.Errorf("%w: %s: %v", ErrMirror, u, err)
		}
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := m.opts.Client.Do(req)
		if err != nil {
			return nil, false, fmt.Errorf("%w: GET %s: %v; check --ra and that the server is up", ErrMirror, u, unwrapURLError(err))
		}
		body, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
		resp.Body.Close()
		switch {
		case err != nil:
			return nil, false, fmt.Errorf("%w: GET %s: reading the body: %v", ErrMirror, u, err)
		case resp.StatusCode == http.StatusTooManyRequests && try < maxRateRetries:
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			select {
			case <-ctx.Done():
				return nil, false, ctx.Err()
			case <-time.After(time.Duration(max(wait, 1)) * time.Second):
			}
			continue
		case resp.StatusCode == http.StatusNotModified:
			m.st.Unchanged++
			return nil, true, nil
		case resp.StatusCode == http.StatusNotFound:
			return nil, false, fmt.Errorf("%w: GET %s: %w", ErrMirror, u, errAbsent)
		case resp.StatusCode != http.StatusOK:
			return nil, false, fmt.Errorf("%w: GET %s: HTTP %d", ErrMirror, u, resp.StatusCode)
		case int64(len(body)) > limit:
			return nil, false, fmt.Errorf("%w: GET %s: over %d bytes", ErrMirror, u, limit)
		}
		m.st.Fetched++
		m.lastModified, _ = http.ParseTime(resp.Header.Get("Last-Modified"))
		return body, false, nil
	}
}

// unwrapURLError drops net/http's "Get URL:" wrapping (the caller names
// the URL).
func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}
