package verifier

import (
	"crypto/x509"

	"github.com/smki/smki/eui64"
)

// UserID returns the User ID an Organisation Certificate's subject carries
// (x500UniqueIdentifier, a 64-bit BIT STRING), as the verifier reads it.
func UserID(c *x509.Certificate) (eui64.ID, error) { return uniqueID(c) }
