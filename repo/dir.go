package repo

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smki/smki/internal/dccx509"
)

// DirConfig configures NewDir.
type DirConfig struct {
	// Dir is a mirror's root directory (MirrorOptions.Out): the tree is
	// read from Dir/repo/.
	Dir string
	// Rate and Burst as in Config.
	Rate   float64
	Burst  int
	Clock  func() time.Time
	Logger *slog.Logger
}

// DirHandler serves a mirror directory written by Mirror under Prefix with
// the headers the live repository gives (ETag, Last-Modified and
// Cache-Control derived from the data, 304 on a conditional GET), and the
// same errors, rate limit and Accept negotiation. Search and changes are
// live only: it answers them 404 E_REPO_NOT_FOUND saying so. It reads the
// files on each request, so a mirror run (which replaces each file
// atomically) is served as soon as it has written. It is safe for
// concurrent use.
type DirHandler struct {
	root  string
	now   func() time.Time
	log   *slog.Logger
	limit *limiter
}

// NewDir checks cfg and returns the handler.
func NewDir(cfg DirConfig) (*DirHandler, error) {
	root := filepath.Join(cfg.Dir, filepath.FromSlash(strings.Trim(Prefix, "/")))
	if cfg.Dir == "" {
		return nil, fmt.Errorf("%w: a mirror directory is required", ErrConfig)
	}
	if _, err := os.Stat(filepath.Join(root, "index.json")); err != nil {
		return nil, fmt.Errorf("%w: %s holds no mirror (no %s/index.json); run smki repo mirror --out %s first", ErrConfig, cfg.Dir, root, cfg.Dir)
	}
	h := &DirHandler{root: root}
	var err error
	if h.limit, h.now, h.log, err = common(cfg.Rate, cfg.Burst, cfg.Clock, cfg.Logger); err != nil {
		return nil, err
	}
	return h, nil
}

// ServeHTTP answers GET and HEAD under Prefix from the mirror.
func (h *DirHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := admit(w, r, h.limit)
	if !ok {
		return
	}
	switch {
	case p == "index.json":
		// Mirror dates the file with the live index's Last-Modified.
		body, mod, ok := h.read(w, r, p)
		if ok {
			serveListing(w, r, body, mod)
		}
	case p == "ca/root.pem", p == "ca/root.der", p == "ca/issuing.pem", p == "ca/issuing.der":
		body, _, ok := h.read(w, r, p)
		if !ok {
			return
		}
		der := body
		if strings.HasSuffix(p, ".pem") {
			if b, _ := pem.Decode(body); b != nil {
				der = b.Bytes
			}
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			h.corrupt(w, p, err)
			return
		}
		serveCACert(w, r, body, p, c.NotBefore)
	case p == "crl/orl.crl", p == "crl/arl.crl":
		body, _, ok := h.read(w, r, p)
		if !ok {
			return
		}
		crl, err := x509.ParseRevocationList(body)
		if err != nil {
			h.corrupt(w, p, err)
			return
		}
		ServeCRL(w, r, body, crl.ThisUpdate, crl.NextUpdate, h.now())
	case p == "certs", p == "changes":
		writeError(w, http.StatusNotFound, ErrNotFound, "this is a static mirror: "+Prefix+p+
			" is answered only by the live repository (smki serve, or smki repo serve --store)")
	case strings.HasPrefix(p, "certs/"):
		h.cert(w, r, p[len("certs/"):])
	default:
		writeError(w, http.StatusNotFound, ErrNotFound, notFoundMsg)
	}
}

func (h *DirHandler) cert(w http.ResponseWriter, r *http.Request, name string) {
	serial, form, ok := certName(w, name)
	if !ok {
		return
	}
	// Every form's headers come from the description, which the mirror
	// writes with the certificate.
	desc, _, ok := h.read(w, r, "certs/"+serial+".json")
	if !ok {
		return
	}
	var d Cert
	if err := json.Unmarshal(desc, &d); err != nil || d.Serial != serial {
		h.corrupt(w, "certs/"+serial+".json", fmt.Errorf("not the description of %s (%v)", serial, err))
		return
	}
	form = negotiate(w, r, form)
	if form == "json" {
		serveCertJSON(w, r, desc, d)
		return
	}
	body, _, ok := h.read(w, r, "certs/"+serial+"."+form)
	if !ok {
		return
	}
	if form == "der" {
		if c, err := dccx509.ParseCertificate(body); err != nil || c.SerialNumber.Text(16) != serial {
			h.corrupt(w, "certs/"+serial+".der", fmt.Errorf("not the certificate %s (%v)", serial, err))
			return
		}
	}
	serveCertBytes(w, r, body, form, d.IssuedAt)
}

// read reads the mirror's file name (a path under Prefix) and its
// modification time, answering the request if it cannot: 404 with the
// live repository's message if it is absent, 503 otherwise.
func (h *DirHandler) read(w http.ResponseWriter, r *http.Request, name string) ([]byte, time.Time, bool) {
	p := filepath.Join(h.root, filepath.FromSlash(name))
	f, err := os.Open(p)
	if err == nil {
		defer f.Close()
		var st os.FileInfo
		if st, err = f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() <= maxMirrorCRL {
			b := make([]byte, st.Size())
			if _, err = io.ReadFull(f, b); err == nil {
				return b, st.ModTime(), true
			}
		} else if err == nil {
			err = fmt.Errorf("not a regular file of at most %d bytes", maxMirrorCRL)
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist) && strings.HasPrefix(name, "crl/"):
		writeError(w, http.StatusNotFound, ErrNotFound, crlAbsentMsg)
	case errors.Is(err, fs.ErrNotExist) && strings.HasPrefix(name, "certs/"):
		writeError(w, http.StatusNotFound, ErrNotFound, fmt.Sprintf(certAbsentMsg, strings.TrimSuffix(name[len("certs/"):], filepath.Ext(name))))
	case errors.Is(err, fs.ErrNotExist):
		writeError(w, http.StatusNotFound, ErrNotFound, notFoundMsg)
	default:
		h.log.Error("mirror read failed", "path", p, "err", err)
		writeError(w, http.StatusServiceUnavailable, ErrUnavailable, "the mirror could not be read; retry shortly")
	}
	return nil, time.Time{}, false
}

// corrupt answers a mirror file that does not parse: the mirror is being
// written over by hand or is damaged; a new mirror run replaces it.
func (h *DirHandler) corrupt(w http.ResponseWriter, name string, err error) {
	h.log.Error("mirror file does not parse; run smki repo mirror again", "path", name, "err", err)
	writeError(w, http.StatusServiceUnavailable, ErrUnavailable, "the mirror's copy of "+Prefix+name+" is damaged; retry shortly")
}
