package records

import (
	"errors"
	"fmt"
	"strings"

	"github.com/smki/smki/ra/authz"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/store"
)

// Four-eyes is about people, not credentials. Whoever appoints an officer,
// or re-issues their credential, could have made the appointee's key or CSR
// and so act as the appointee; so could whoever appointed the appointer,
// and so on up the line. The RA therefore keeps, per officer, every
// officer who ever had custody of its credentials (appointer and
// re-issuers) and the source of its current key, and the SoLR approval
// rule (Authorize, ActApproveSoLR) refuses an approver and a declarer whose
// custody lines meet anywhere below the system root (the bootstrap, which
// writes each of its credentials to its own directory for its own holder).

// kindCustody is the record of an officer's credential custody; ID: officer ID.
const kindCustody = "officer-custody"

// Key sources of an officer credential, as the audit detail also says.
const (
	KeyAppointee   = "appointee"    // the holder generated the key and sent a CSR
	KeyRAGenerated = "ra-generated" // the RA generated it and handed it to the requester
)

// custody is who held or chose an officer's credentials, and where its
// current key came from.
type custody struct {
	Custodians []string `json:"custodians"` // appointer, then every re-issuer, in order
	Serial     string   `json:"serial"`     // the credential KeySource describes
	KeySource  string   `json:"key_source"` // KeyAppointee or KeyRAGenerated
}

// maxLineage bounds the custody walk; a real RA has far fewer officers.
const maxLineage = 10000

// RecordCustody notes, in tx, that officer id's credential serial has key
// source src, chosen by custodian (appended to the line unless it is ""
// or the officer itself, which renews its own).
func RecordCustody(tx store.Tx, id, custodian, serial, src string) error {
	var c custody
	if err := Get(tx, kindCustody, id, &c); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if custodian != "" && custodian != id && (len(c.Custodians) == 0 || c.Custodians[len(c.Custodians)-1] != custodian) {
		c.Custodians = append(c.Custodians, custodian)
	}
	c.Serial, c.KeySource = serial, src
	return Put(tx, kindCustody, id, c)
}

// CustodyLine returns officer id and every officer in its appointment and
// re-issue ancestry, transitively, without the system root. An officer
// without a custody record (appointed before it was kept) counts its
// AppointedBy only.
func CustodyLine(tx store.Tx, id string) ([]string, error) {
	seen := map[string]bool{}
	var line []string
	queue := []string{id}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == "" || strings.HasPrefix(cur, "system:") || seen[cur] {
			continue
		}
		if len(seen) >= maxLineage {
			return nil, fmt.Errorf("%w: custody line of %s longer than %d officers", raerr.ErrInternal, id, maxLineage)
		}
		seen[cur] = true
		line = append(line, cur)
		o, err := tx.GetOfficer(cur)
		if errors.Is(err, store.ErrNotFound) {
			continue // a declarer removed from the store entirely: nothing above it is known
		}
		if err != nil {
			return nil, raerr.FromStore("officer "+cur, err)
		}
		queue = append(queue, o.AppointedBy)
		var c custody
		switch err := Get(tx, kindCustody, cur, &c); {
		case err == nil:
			queue = append(queue, c.Custodians...)
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	return line, nil
}

// HolderMadeKey reports whether o's current credential key was generated
// by its holder (a CSR), as recorded when it was certified. Unknown (no
// record, or a record of another serial) is false: fail closed.
func HolderMadeKey(tx store.Tx, o store.Officer) (bool, error) {
	var c custody
	err := Get(tx, kindCustody, o.ID, &c)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return c.Serial == o.CertSerial && c.KeySource == KeyAppointee, nil
}

// ApprovalTarget is what the four-eyes rule (authz.Authorize on an
// approval) needs to decide whether approver me may approve what
// declaredBy declared or requested: both custody lines and the source of
// me's key, read in tx. SoLR approval and the RA's own signer revocation
// both use it.
func ApprovalTarget(tx store.Tx, declaredBy string, me store.Officer) (authz.Target, error) {
	t := authz.Target{DeclaredBy: declaredBy}
	var err error
	if t.DeclarerLine, err = CustodyLine(tx, declaredBy); err != nil {
		return authz.Target{}, err
	}
	if t.ApproverLine, err = CustodyLine(tx, me.ID); err != nil {
		return authz.Target{}, err
	}
	if t.ApproverMadeKey, err = HolderMadeKey(tx, me); err != nil {
		return authz.Target{}, err
	}
	return t, nil
}
