package raapi

import (
	"time"

	"github.com/smki/smki/bundle"
)

// Trust is the answer of GET /v1/trust: what a verifier needs, as text.
// Root and IssuingCAs are PEM certificates, ARL and ORL PEM CRLs, Bundle
// the signed policy bundle exactly as signed (a JSON document, carried as
// a string), Manifest the SHA-256 of each file of the trust directory
// `smki trust export` writes from it (bundle.TrustFiles: CRLs as DER) and
// the time of export. Bundle is present only for a caller whose officer
// may read the bundle (a verifier officer, RA staff): it carries the
// user, party and device registers (docs/verifier.md, "What is public");
// BundleOmitted then says why not, and Manifest leaves bundle.json out.
type Trust struct {
	ExportedAt    time.Time             `json:"exported_at"`
	Root          string                `json:"root"`
	IssuingCAs    string                `json:"issuing_cas"`
	ARL           string                `json:"arl"`
	ORL           string                `json:"orl"`
	Bundle        string                `json:"bundle,omitempty"`
	BundleOmitted string                `json:"bundle_omitted,omitempty"`
	Manifest      *bundle.TrustManifest `json:"manifest"`
}
