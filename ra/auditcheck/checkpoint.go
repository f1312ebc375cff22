package auditcheck

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/smki/smki/bundle"

	"github.com/smki/smki/store"
)

// Checkpoint codes. They are offline-only (smki audit verify --checkpoint),
// so they have no HTTP status.
var (
	// ErrAuditCheckpoint: the stored audit chain disagrees with a signed
	// checkpoint (the entry's hash differs, or the entry is gone): the chain
	// was rewritten after the bundle was exported.
	ErrAuditCheckpoint = errors.New("E_AUDIT_CHECKPOINT")
	// ErrCheckpointInvalid: the checkpoint is not evidence at all (it does
	// not open as a bundle signed by an OU=89 certificate under the trusted
	// root, or carries no audit_head). Never treated as passing.
	ErrCheckpointInvalid = errors.New("E_AUDIT_CHECKPOINT_INVALID")
)

// Checkpoint is the audit head a signed bundle recorded: entry Seq had hash
// Hash when the RA built the bundle at IssuedAt.
type Checkpoint struct {
	Name     string    // where it came from (a file name), for messages
	IssuedAt time.Time // the bundle's issued_at
	Seq      uint64
	Hash     []byte
}

// OpenCheckpoint opens data, a bundle envelope as `smki bundle export`
// writes it, with bundle.Open against roots (the same checks a
// verifier makes: format, OU=89 signer chaining to roots, signature,
// strict payload) and returns its audit_head. The signer's validity is
// judged at the bundle's own issued_at rather than now: a checkpoint is
// evidence from the past, and its signer may since have expired or been
// replaced. A bundle from the future (beyond bundle.MaxClockSkew of
// now, the tolerance verifiers allow bundles: bundle.FromTheFuture) is
// refused. Every refusal wraps ErrCheckpointInvalid and names the file.
func OpenCheckpoint(name string, data []byte, roots *x509.CertPool, now time.Time) (Checkpoint, error) {
	bad := func(format string, a ...any) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint %s: %w", ErrCheckpointInvalid, name, fmt.Errorf(format, a...))
	}
	at := now
	if claimed, ok := claimedIssuedAt(data); ok {
		if bundle.FromTheFuture(claimed, now) {
			return bad("the bundle says it was signed at %s, in the future", claimed.UTC().Format(time.RFC3339))
		}
		at = claimed // only the time the signer must have been valid at: the signature is still checked
	}
	b, err := bundle.Open(data, roots, at)
	if err != nil {
		return bad("%w", err)
	}
	if b.AuditHead == nil {
		return bad("the bundle signed at %s has no audit_head (exported by an smki that did not record one)",
			b.IssuedAt.UTC().Format(time.RFC3339))
	}
	h, err := hex.DecodeString(b.AuditHead.Hash)
	if err != nil || len(h) != 32 || b.AuditHead.Seq == 0 {
		return bad("audit_head {seq %d, hash %q}: want seq >= 1 and a 64-digit hex hash", b.AuditHead.Seq, b.AuditHead.Hash)
	}
	return Checkpoint{Name: name, IssuedAt: b.IssuedAt, Seq: b.AuditHead.Seq, Hash: h}, nil
}

// claimedIssuedAt reads the payload's issued_at without checking anything;
// OpenBundle then verifies the signature over that same payload, so the
// value only picks the time at which the signer's chain is judged.
func claimedIssuedAt(data []byte) (time.Time, bool) {
	var env struct {
		Payload []byte `json:"payload"`
	}
	var p struct {
		IssuedAt time.Time `json:"issued_at"`
	}
	if len(data) > bundle.MaxBundleSize || json.Unmarshal(data, &env) != nil || json.Unmarshal(env.Payload, &p) != nil ||
		p.IssuedAt.IsZero() {
		return time.Time{}, false
	}
	return p.IssuedAt, true
}

// CheckpointResult is one checkpoint's verdict.
type CheckpointResult struct {
	Checkpoint string    `json:"checkpoint"`
	IssuedAt   time.Time `json:"issued_at,omitzero"`
	Seq        uint64    `json:"seq,omitempty"`
	Hash       string    `json:"hash,omitempty"`   // what the bundle says
	Stored     string    `json:"stored,omitempty"` // what the store holds ("" if the entry is gone)
	OK         bool      `json:"ok"`
	Error      string    `json:"error,omitempty"`
}

// CheckAuditCheckpoints checks, in one read transaction, that each
// checkpoint's entry is still stored with the hash the signed bundle
// recorded. Together with an intact chain (WalkAudit) a matching checkpoint
// proves entries 1..Seq unchanged since the bundle was built, since every
// hash covers its predecessor; a rewrite of entries after the newest
// checkpoint is not detected. It returns one result per checkpoint and an
// error joining one ErrAuditCheckpoint per mismatch, each naming the
// checkpoint and the entry.
func CheckAuditCheckpoints(ctx context.Context, st store.Store, cps []Checkpoint) ([]CheckpointResult, error) {
	out := make([]CheckpointResult, len(cps))
	var errs []error
	if err := st.SealAudit(ctx); err != nil && !errors.Is(err, store.ErrReadOnly) {
		return nil, fmt.Errorf("sealing the audit log: %w", err)
	}
	err := st.View(ctx, func(tx store.Tx) error {
		errs = errs[:0]
		for i, cp := range cps {
			r := CheckpointResult{Checkpoint: cp.Name, IssuedAt: cp.IssuedAt, Seq: cp.Seq, Hash: hex.EncodeToString(cp.Hash)}
			if cp.Seq > math.MaxInt64 {
				return fmt.Errorf("checkpoint %s: seq %d out of range", cp.Name, cp.Seq)
			}
			es, err := tx.AuditEntries(cp.Seq, 1)
			if err != nil {
				return err
			}
			stored := "(missing)"
			if len(es) == 1 && es[0].Seq == cp.Seq {
				r.Stored = hex.EncodeToString(es[0].Hash)
				stored = r.Stored
				r.OK = bytes.Equal(es[0].Hash, cp.Hash)
			}
			if !r.OK {
				e := fmt.Errorf("%w: checkpoint %s: entry %d hash %s, the bundle signed at %s says %s",
					ErrAuditCheckpoint, cp.Name, cp.Seq, stored, cp.IssuedAt.UTC().Format(time.RFC3339Nano), r.Hash)
				r.Error = e.Error()
				errs = append(errs, e)
			}
			out[i] = r
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading audit entries: %w", err)
	}
	return out, errors.Join(errs...)
}
