package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/adtfile"
	"github.com/smki/smki/ra/authz"
	"github.com/smki/smki/ra/internal/input"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// SubmitADT accepts an ADT file signed by the submitting officer (R4). The
// officer must be an SRO or ARO of the SC user's party and sig must verify
// with the key of the very access certificate that authenticated them (a
// is bound to it). The SC user must be an active SC user; the supplier
// user an active supplier user (IS, ES, GS) of another party (its party
// may be suspended or failed: that is when SC acts); every SRV
// on SC's current allow-list. An SC user of another party is, to a party
// officer, no user (authz.Hidden). A file for the same (SC user, supplier user)
// replaces the previous one. The record keeps the bytes, the signature and
// the officer's certificate.
func (s *Service) SubmitADT(ctx context.Context, a Session, file, sig []byte) (records.ADTRecord, error) {
	f, sc, sup, err := adtfile.Parse(file)
	subject := "adt"
	if err == nil {
		subject = "adt:" + records.ADTKey(sc, sup)
	}
	if err == nil {
		err = adtfile.Verify(a.Cert(), file, sig)
	}
	if err != nil {
		a.Refused(ctx, authz.ActSubmitADT, subject, err)
		return records.ADTRecord{}, err
	}
	sum := sha256.Sum256(file)
	var out records.ADTRecord
	err = a.Change(ctx, authz.ActSubmitADT, subject, func(tx store.Tx, me store.Officer) (string, error) {
		// A party officer gets one answer for another party's SC user
		// and for none (authz.Hidden, authz.Unseen).
		scUser, err := tx.GetUser(sc.String())
		if err != nil {
			return "", authz.Hidden(me, "SC user", sc.String(), raerr.FromStore("SC user "+sc.String(), err))
		}
		if err := authz.Unseen(me, authz.ActReadParty, scUser.PartyID, "SC user", sc.String()); err != nil {
			return "", err
		}
		if err := authz.Authorize(me, authz.ActSubmitADT, authz.Target{PartyID: scUser.PartyID}); err != nil {
			return "", err
		}
		if scUser.Role != string(role.SoLRContingency) || scUser.Status != store.StatusActive {
			return "", fmt.Errorf("%w: %s is a %s user (%s), not an active SC user", raerr.ErrADTUser, sc, scUser.Role, scUser.Status)
		}
		if err := records.ActiveParty(tx, scUser.PartyID); err != nil {
			return "", err
		}
		// The supplier user is another party's by design: one answer
		// whether it does not exist, is withdrawn or is not a supplier
		// user, so that no other user of another party, nor its role or
		// status, can be probed.
		notSupplier := fmt.Errorf("%w: supplier user %s is unknown, withdrawn, or not a supplier user (IS, ES, GS) of another party; "+
			"check the ID with the Supplier (a withdrawn User ID is never active again: name the User ID that replaced it)", raerr.ErrADTUser, sup)
		supUser, err := tx.GetUser(sup.String())
		if err != nil {
			if records.IsNotFound(err) {
				return "", notSupplier
			}
			return "", raerr.FromStore("user "+sup.String(), err)
		}
		if !records.IsSupplierRole(supUser.Role) || supUser.PartyID == scUser.PartyID || supUser.Status != store.StatusActive {
			return "", notSupplier
		}
		allowed, _, err := records.EffectiveSRVs(tx, role.SoLRContingency)
		if err != nil {
			return "", err
		}
		for _, t := range f.Thresholds {
			if !containsStr(allowed, t.SRV) {
				return "", fmt.Errorf("%w: SC may not send SRV %s (allow-list %v)", raerr.ErrADTSRV, t.SRV, allowed)
			}
		}
		out = records.ADTRecord{SCUser: sc, SupplierUser: sup, Thresholds: f.Thresholds, SubmittedBy: me.ID,
			SubmittedAt: s.now().UTC(), SHA256: hex.EncodeToString(sum[:]), File: file, Signature: sig, SignerCert: a.Cert().Raw}
		if err := records.Put(tx, records.KindADT, records.ADTKey(sc, sup), out); err != nil {
			return "", err
		}
		return fmt.Sprintf("sc_user=%s supplier_user=%s srvs=%d sha256=%s", sc, sup, len(f.Thresholds), out.SHA256), nil
	})
	if err != nil {
		return records.ADTRecord{}, err
	}
	return out, nil
}

// WithdrawADT takes the ADT file of (sc, sup) out of force (docs/adt.md,
// "Withdrawing a file"): an SRO or ARO of the SC user's party, or an
// ra-operator. One transaction marks the record withdrawn and appends the
// audit record; the record keeps the file, and the bundle leaves it out
// from its next build. No file for the pair, and another party's SC user
// to a party officer, are one answer (authz.Hidden); a withdrawn file is
// raerr.ErrInactive.
func (s *Service) WithdrawADT(ctx context.Context, a Session, sc, sup eui64.ID, reason string) (records.ADTRecord, error) {
	key := records.ADTKey(sc, sup)
	subject := "adt:" + key
	if err := input.CheckEUI("SC user", sc); err != nil {
		return records.ADTRecord{}, err
	}
	if err := input.CheckEUI("supplier user", sup); err != nil {
		return records.ADTRecord{}, err
	}
	if reason != "" {
		if err := input.CheckName("withdrawal reason", reason); err != nil {
			a.Refused(ctx, authz.ActWithdrawADT, subject, err)
			return records.ADTRecord{}, err
		}
	}
	var out records.ADTRecord
	err := a.Change(ctx, authz.ActWithdrawADT, subject, func(tx store.Tx, me store.Officer) (string, error) {
		noFile := fmt.Errorf("%w: no ADT file for SC user %s and supplier user %s; smki adt list shows the files", raerr.ErrNotFound, sc, sup)
		scUser, err := tx.GetUser(sc.String())
		if err != nil {
			if records.IsNotFound(err) {
				return "", authz.Hidden(me, "ADT file", key, noFile)
			}
			return "", raerr.FromStore("user "+sc.String(), err)
		}
		// Another party's SC user is no file to a party officer (Unseen);
		// its own party's it may read, so it gets the precise answer.
		if err := authz.Unseen(me, authz.ActReadADT, scUser.PartyID, "ADT file", key); err != nil {
			return "", err
		}
		if err := authz.Authorize(me, authz.ActWithdrawADT, authz.Target{PartyID: scUser.PartyID}); err != nil {
			return "", err
		}
		var r records.ADTRecord
		if err := records.Get(tx, records.KindADT, key, &r); err != nil {
			if records.IsNotFound(err) {
				return "", noFile
			}
			return "", err
		}
		if w := r.Withdrawn; w != nil {
			return "", fmt.Errorf("%w: the ADT file for SC user %s and supplier user %s was already withdrawn by %s at %s, so nothing was changed",
				raerr.ErrInactive, sc, sup, w.By, w.At.Format(time.RFC3339))
		}
		r.Withdrawn = &records.ADTWithdrawal{By: me.ID, At: s.now().UTC(), Reason: reason}
		if err := records.Put(tx, records.KindADT, key, r); err != nil {
			return "", err
		}
		out = r
		return fmt.Sprintf("sc_user=%s supplier_user=%s sha256=%s reason=%q", sc, sup, r.SHA256, reason), nil
	})
	if err != nil {
		return records.ADTRecord{}, err
	}
	out.File, out.Signature, out.SignerCert = nil, nil, nil
	return out, nil
}

// ListADT returns the accepted ADT files (without their bytes): all of
// them to RA officers, those of the caller's party's SC users to its SROs
// and AROs.
func (s *Service) ListADT(ctx context.Context, a Session) ([]records.ADTRecord, error) {
	var out []records.ADTRecord
	err := a.Read(ctx, authz.ActReadADT, "adt", func(tx store.Tx, me store.Officer) error {
		pid := ""
		if !authz.IsRAKind(me.Kind) {
			pid = me.PartyID
		}
		if err := authz.Authorize(me, authz.ActReadADT, authz.Target{PartyID: pid}); err != nil {
			return err
		}
		all, err := records.List[records.ADTRecord](tx, records.KindADT)
		if err != nil {
			return err
		}
		out = []records.ADTRecord{}
		for _, r := range all {
			if pid != "" {
				u, err := tx.GetUser(r.SCUser.String())
				if err != nil || u.PartyID != pid {
					continue
				}
			}
			r.File, r.Signature, r.SignerCert = nil, nil, nil
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
