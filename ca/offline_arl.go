package ca

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smki/smki/internal/crlfresh"
	"github.com/smki/smki/store"
)

// ARL lifetimes IssueARL accepts. An offline root is brought out only for
// a ceremony, so its ARL lives longer than ARLLifetime; the cap keeps a
// relying party's copy from outliving a revocation by more than about a
// year (and is what ImportARL accepts). The floor keeps the ceremony's
// ARL from expiring before it reaches the online servers.
const (
	MinARLLifetime = 24 * time.Hour
	MaxARLLifetime = 400 * 24 * time.Hour
)

// ARLState is how fresh the stored ARL is.
type ARLState string

// ARL states. Stale is the point at which an online root reissues the ARL
// (RefreshCRLs); with the root offline it is the signal to hold a ceremony.
// The first three are internal/crlfresh's grades, the one rule the
// verifier applies to the CRLs it holds too.
const (
	ARLOK               = ARLState(crlfresh.OK)      // before half its lifetime
	ARLStale            = ARLState(crlfresh.Stale)   // past half its lifetime: reissue it
	ARLExpired          = ARLState(crlfresh.Expired) // past nextUpdate: relying parties reject it
	ARLMissing ARLState = "missing"                  // no ARL stored (Init always makes one)
)

// ARLStatus describes the stored ARL.
type ARLStatus struct {
	State      ARLState
	Number     uint64
	ThisUpdate time.Time
	NextUpdate time.Time
	// Owed: a revocation was recorded while the key could not sign this
	// CRL, which does not list it yet; RefreshCRLs reissues it as soon as
	// the key signs (crlAfterRevoking).
	Owed bool
}

// arlStatusOf grades crl at now.
func arlStatusOf(crl store.CRL, now time.Time) ARLStatus {
	return ARLStatus{State: ARLState(crlfresh.Grade(crl.ThisUpdate, crl.NextUpdate, now)), Number: crl.Number,
		ThisUpdate: crl.ThisUpdate, NextUpdate: crl.NextUpdate}
}

// ARLStatus reports whether the stored ARL is fresh, past half its
// lifetime, or expired, by Clock. A server with the root offline polls it
// to warn that the next ceremony is due.
func (c *CA) ARLStatus(ctx context.Context) (ARLStatus, error) {
	return c.CRLStatus(ctx, ARL)
}

// CRLStatus grades the stored CRL name (ARL or ORL) as ARLStatus grades
// the ARL: ok, stale (past half its lifetime), expired or missing; and
// says whether it is owed a revocation.
func (c *CA) CRLStatus(ctx context.Context, name string) (ARLStatus, error) {
	var crl store.CRL
	var cover crlCover
	err := c.st.View(ctx, func(tx store.Tx) (err error) {
		if crl, err = tx.GetCRL(name); err != nil {
			return err
		}
		cover, err = crlCoverTx(tx, name)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return ARLStatus{State: ARLMissing}, nil
	}
	if err != nil {
		return ARLStatus{}, fmt.Errorf("%w: reading the %s: %w", ErrStore, strings.ToUpper(name), err)
	}
	st := arlStatusOf(crl, c.clock())
	st.Owed = cover.Owed
	return st, nil
}

// IssueARL issues the next ARL with the given lifetime (0: ARLLifetime;
// otherwise MinARLLifetime..MaxARLLifetime, else ErrBadRequest), records
// it with an audit entry in one transaction and returns it. It is the key
// ceremony's step: it needs the root key (ErrRootOffline otherwise). The
// ARL is linted like every CRL before the root signs it.
func (c *CA) IssueARL(ctx context.Context, lifetime time.Duration) (store.CRL, error) {
	if lifetime == 0 {
		lifetime = ARLLifetime
	}
	if lifetime < MinARLLifetime || lifetime > MaxARLLifetime {
		return store.CRL{}, fmt.Errorf("%w: ARL lifetime %v: want %v to %v", ErrBadRequest, lifetime, MinARLLifetime, MaxARLLifetime)
	}
	var out store.CRL
	err := c.st.Update(ctx, func(tx store.Tx) error {
		crl, err := c.issueARLTx(tx, lifetime)
		if err != nil {
			return err
		}
		out = crl
		_, err = tx.AppendAudit(store.AuditEntry{Time: c.clock(), Actor: "ca", Action: "ca.arl.issue",
			Subject: SerialHex(c.root.SerialNumber), Result: "ok",
			Detail: fmt.Sprintf("ARL %d, thisUpdate %s, nextUpdate %s", crl.Number,
				crl.ThisUpdate.UTC().Format(time.RFC3339), crl.NextUpdate.UTC().Format(time.RFC3339))})
		if err != nil {
			return fmt.Errorf("%w: audit: %w", ErrStore, err)
		}
		return nil
	})
	if err != nil {
		return store.CRL{}, err
	}
	c.log.Info("ARL issued", "number", out.Number, "next_update", out.NextUpdate)
	return out, nil
}
