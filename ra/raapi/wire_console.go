package raapi

import "time"

// LoginLink is the answer to POST /console/login-link (docs/console.md):
// a single-use link that signs the asking officer in to the console.
type LoginLink struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}
