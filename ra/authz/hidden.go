package authz

import (
	"errors"
	"fmt"

	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/store"
)

// Hidden is the one rule that keeps a party officer from probing other
// parties (issue 12, finding 7): the competing Suppliers share this RA, so
// an SRO or ARO who names another party's record (a certificate, user,
// officer, SoLR event, party, ...) gets the answer it gets for a record
// that does not exist. err, the refusal of a record named what id because
// it is not there (raerr.ErrNotFound, store.ErrNotFound) or because
// the policy refuses it (raerr.ErrForbidden), becomes one E_RA_NOT_FOUND
// sentence naming no party; the RA's audit record keeps err itself
// (raerr.Real). Officers of no party, and any other error, get err.
//
// Hidden is for a record the officer may not see at all. A refusal of a
// record the officer may read (an ARO removing its own party's SRO) is not
// hidden: Unseen decides which is which.
func Hidden(me store.Officer, what, id string, err error) error {
	if !IsPartyKind(me.Kind) || !(errors.Is(err, raerr.ErrForbidden) || errors.Is(err, raerr.ErrNotFound) || errors.Is(err, store.ErrNotFound)) {
		return err
	}
	return raerr.Conceal(fmt.Errorf("%w: no %s %s among your party's; check the ID%s", raerr.ErrNotFound, what, id, listVerb(what)), err)
}

// listVerb is where a party officer finds the IDs of its own party's
// records of kind what (the same words for a record absent and another
// party's, so it tells nothing about either).
func listVerb(what string) string {
	verb := map[string]string{"user": "smki user list", "user ID": "smki user list", "SC user": "smki user list",
		"certificate": "smki certs", "officer": "smki officer list", "party": "smki party list", "SoLR event": "smki solr list"}[what]
	if verb == "" {
		return ""
	}
	return " (" + verb + " lists your party's)"
}

// Unseen answers a party officer naming a record (what id) that exists and
// belongs to party pid: if the officer may not read that party's records
// with act (a read action: ActReadParty, ActReadSoLR, ...), Hidden's
// answer, as if the record were not there; else nil, and the caller
// decides the request itself, with Authorize's precise refusal. Officers
// of no party get nil. Call it before anything else about the record.
func Unseen(me store.Officer, read Action, pid, what, id string) error {
	if !IsPartyKind(me.Kind) {
		return nil
	}
	return Hidden(me, what, id, Authorize(me, read, Target{PartyID: pid}))
}
