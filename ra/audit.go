package ra

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/smki/smki/store"
)

// auditPage is how many audit entries VerifyAudit reads per transaction:
// enough to be quick, few enough not to hold a long read transaction.
const auditPage = 1000

// VerifyAudit walks the whole audit chain of st with store.VerifyChain,
// page by page, and returns nil if every link holds, else an error wrapping
// ErrAuditBroken and the *store.ChainError that names the first broken
// entry (errors.As finds it).
func VerifyAudit(ctx context.Context, st store.Store) error {
	_, err := WalkAudit(ctx, st)
	return err
}

// WalkAudit is VerifyAudit that also reports how many entries held and the
// head hash (or where the chain broke).
func WalkAudit(ctx context.Context, st store.Store) (AuditReport, error) {
	// Entries committed but not yet chained are chained first, so the
	// walk covers everything committed before it. A read-only store
	// (an auditor's) walks what is chained; the RA seals the rest.
	if err := st.SealAudit(ctx); err != nil && !errors.Is(err, store.ErrReadOnly) {
		return AuditReport{}, fmt.Errorf("%w: sealing the audit log: %w", ErrInternal, err)
	}
	var prev []byte
	from := uint64(1)
	for {
		var page []store.AuditEntry
		err := st.View(ctx, func(tx store.Tx) error {
			var err error
			page, err = tx.AuditEntries(from, auditPage)
			return err
		})
		if err != nil {
			return AuditReport{}, fmt.Errorf("%w: reading audit entries from %d: %w", ErrInternal, from, err)
		}
		if len(page) == 0 {
			return AuditReport{Entries: from - 1, Head: hex.EncodeToString(prev)}, nil
		}
		prev, err = store.VerifyChain(prev, from, page)
		if err != nil {
			var ce *store.ChainError
			if errors.As(err, &ce) {
				// Entries: those before the broken one held, in this
				// page as in the ones before it.
				return AuditReport{Entries: ce.Seq - 1, BrokenAt: ce.Seq}, fmt.Errorf("%w: %w", ErrAuditBroken, err)
			}
			return AuditReport{}, fmt.Errorf("%w: %w", ErrAuditBroken, err)
		}
		from += uint64(len(page))
	}
}

// VerifyAudit is VerifyAudit for an RA officer; the check itself is then
// audited (after the walk, so it never verifies its own record).
func (s *Service) VerifyAudit(ctx context.Context, a Actor) (AuditReport, error) {
	err := s.st.View(ctx, func(tx store.Tx) error {
		me, err := s.loadActor(tx, a)
		if err != nil {
			return err
		}
		return Authorize(me, ActVerifyAudit, Target{})
	})
	if err != nil {
		s.refusedOf(ctx, a, ActVerifyAudit, "audit", err)
		return AuditReport{}, err
	}
	rep, verr := WalkAudit(ctx, s.st)
	rep.OK = verr == nil
	result := "ok"
	if verr != nil {
		rep.Error = verr.Error()
		result = "broken: " + CodeOf(verr)
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		_, err := tx.AppendAudit(s.entryOf(a, ActVerifyAudit, "audit", "allowed",
			fmt.Sprintf("%s entries=%d", result, rep.Entries)))
		return err
	})
	if err != nil {
		return rep, fmt.Errorf("%w: audit: %w", ErrInternal, err)
	}
	return rep, nil
}
