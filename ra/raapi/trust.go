package raapi

import "time"

// Trust is the answer of GET /v1/trust: what a verifier needs, as text.
// Root and IssuingCAs are PEM certificates, ARL and ORL PEM CRLs, Bundle
// the signed policy bundle exactly as signed (a JSON document, carried as
// a string). Bundle is present only for a caller whose officer may read
// the bundle (a verifier officer, RA staff); BundleOmitted then says why
// not. `smki trust export` writes it as a trust directory (docs/verifier.md).
type Trust struct {
	ExportedAt    time.Time `json:"exported_at"`
	Root          string    `json:"root"`
	IssuingCAs    string    `json:"issuing_cas"`
	ARL           string    `json:"arl"`
	ORL           string    `json:"orl"`
	Bundle        string    `json:"bundle,omitempty"`
	BundleOmitted string    `json:"bundle_omitted,omitempty"`
}
