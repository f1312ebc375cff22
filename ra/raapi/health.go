package raapi

// Health is the server's GET /healthz (liveness): Status "ok" while the
// store answers, else "unavailable" (503, with Scheduler only).
type Health struct {
	Status    string `json:"status"`
	Scheduler string `json:"scheduler"`
	ARL       string `json:"arl,omitempty"`
	ORL       string `json:"orl,omitempty"` // as ARL, for the ORL (reissued at half its 24 h)
	Version   string `json:"version,omitempty"`
	Revision  string `json:"revision,omitempty"`
}

// Readiness is the server's GET /readyz: Status "ready" (200), or "not
// ready" (503) with the Reasons.
type Readiness struct {
	Status  string   `json:"status"`
	Reasons []string `json:"reasons,omitempty"`
}
