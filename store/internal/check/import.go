package check

import (
	"bytes"
	"fmt"

	"github.com/smki/smki/store"
)

// ImportedAudit checks an entry for store.Importer.ImportAudit against the
// current head (seq, prev): well-formed, the next sequence number, linked
// to the head's hash, and carrying its own hash.
func ImportedAudit(e store.AuditEntry, seq uint64, prev []byte) error {
	if _, err := Audit(e); err != nil {
		return fmt.Errorf("import audit %d: %w", e.Seq, err)
	}
	if e.Seq != seq+1 {
		return fmt.Errorf("import audit: seq %d, want %d: %w", e.Seq, seq+1, store.ErrInvalid)
	}
	if !bytes.Equal(e.PrevHash, prev) {
		return fmt.Errorf("import audit %d: previous hash does not link to the head: %w", e.Seq, store.ErrInvalid)
	}
	if !bytes.Equal(store.HashAudit(e), e.Hash) {
		return fmt.Errorf("import audit %d: hash does not match the content: %w", e.Seq, store.ErrInvalid)
	}
	return nil
}

// ImportedRevocation checks a revocation for
// store.Importer.ImportRevocation: valid arguments, the next sequence
// number after seq, and the identity fields of the certificate c it
// revokes.
func ImportedRevocation(r store.Revocation, seq uint64, c store.Certificate) error {
	if r.Seq != seq+1 {
		return fmt.Errorf("import revocation %s: seq %d, want %d: %w", r.Serial, r.Seq, seq+1, store.ErrInvalid)
	}
	if c.Status == store.StatusRevoked {
		return fmt.Errorf("import revocation %s: %w", r.Serial, store.ErrAlreadyRevoked)
	}
	if c.Issuer != r.Issuer || c.UserID != r.UserID || c.PartyID != r.PartyID {
		return fmt.Errorf("import revocation %s: issuer, user or party differ from the certificate's: %w", r.Serial, store.ErrInvalid)
	}
	return nil
}
