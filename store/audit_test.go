package store_test

import (
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/smki/smki/store"
)

// knownChain is three audit entries whose hashes were computed outside Go
// (Python's hashlib over the encoding HashAudit documents: each field
// length-prefixed with a big-endian uint64, Time as RFC 3339 with
// nanoseconds in UTC, PrevHash last). A change to the encoding breaks
// every stored chain and every signed checkpoint; these vectors make it
// fail a test first. The last hash is what a bundle exported after entry
// 3 carries as audit_head {seq 3, hash}.
//
// The Seq slot is the 8-byte big-endian value 8 for every entry, not the
// entry's Seq: HashAudit's length prefix is written into the buffer that
// holds Seq before Seq is hashed. So Seq is not bound by the hash; what
// catches a renumbered entry is VerifyChain's consecutive-Seq check and
// the PrevHash links (TestEveryAuditFieldIsHashed). Fixing it changes
// every stored hash, so it needs a versioned encoding; these vectors pin
// the encoding as stored until then.
var knownChain = []struct {
	entry store.AuditEntry
	hash  string
}{
	{store.AuditEntry{Seq: 1, Time: time.Date(2026, 12, 5, 9, 0, 0, 123456789, time.UTC), Actor: "officer:admin",
		Action: "party.create", Subject: "party:90-B3-D5-1F-30-00-00-0A", Result: "ok", Detail: "name=supplier-a"},
		"32d0ccd14bb365a63edb40e26fc097020f85bb187d725f41be6df87753dfba71"},
	// Given in +01:00: hashed as the same instant in UTC.
	{store.AuditEntry{Seq: 2, Time: time.Date(2026, 12, 5, 10, 0, 1, 0, time.FixedZone("CET", 3600)), Actor: "officer:srp1-aro",
		Action: "cert.enrol", Subject: "user:90-B3-D5-1F-30-05-00-00", Result: "refused: E_RA_NOT_ELIGIBLE", Detail: "profile=digital-signing"},
		"802cf995743413eaf638cc62300e1ad16daad420440da89a3b8ab0d518737571"},
	{store.AuditEntry{Seq: 3, Time: time.Date(2026, 12, 5, 9, 0, 2, 500000000, time.UTC), Actor: "system:scheduler",
		Action: "solr.revoke", Subject: "solr:ev-1", Result: "ok", Detail: "revoked=1 é"},
		"c181c8d070d9fe829e3fd71447d3c53880d3f79ae87b3f42547c91682a326ad9"},
}

// chain links knownChain: each entry's PrevHash is the known hash of the
// one before, its Hash its own known hash.
func chain(t *testing.T) []store.AuditEntry {
	t.Helper()
	var out []store.AuditEntry
	var prev []byte
	for _, k := range knownChain {
		e := k.entry
		e.PrevHash = prev
		h, err := hex.DecodeString(k.hash)
		if err != nil {
			t.Fatal(err)
		}
		e.Hash = h
		out = append(out, e)
		prev = h
	}
	return out
}

func TestHashAuditKnownAnswers(t *testing.T) {
	t.Parallel()
	es := chain(t)
	for i, e := range es {
		if got := hex.EncodeToString(store.HashAudit(e)); got != knownChain[i].hash {
			t.Errorf("entry %d: HashAudit = %s, want %s", e.Seq, got, knownChain[i].hash)
		}
	}
	// The checkpoint: the chain verifies from the start to the head a
	// bundle signs.
	head, err := store.VerifyChain(nil, 1, es)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(head), knownChain[2].hash; got != want {
		t.Errorf("chain head %s, want %s", got, want)
	}
}

// TestEveryAuditFieldIsHashed edits each field of the middle entry in
// turn, leaving its stored Hash as it was: VerifyChain must name entry 2
// (or, for a forged Hash, entry 3 whose link no longer matches). A field
// added to AuditEntry without a case here fails the test.
func TestEveryAuditFieldIsHashed(t *testing.T) {
	t.Parallel()
	tamper := map[string]func(e *store.AuditEntry){
		"Seq":      func(e *store.AuditEntry) { e.Seq = 7 }, // caught by the Seq order, not the hash (see knownChain)
		"Time":     func(e *store.AuditEntry) { e.Time = e.Time.Add(time.Nanosecond) },
		"Actor":    func(e *store.AuditEntry) { e.Actor = "officer:admin" },
		"Action":   func(e *store.AuditEntry) { e.Action = "cert.enrol " },
		"Subject":  func(e *store.AuditEntry) { e.Subject = "user:90-B3-D5-1F-30-05-00-01" },
		"Result":   func(e *store.AuditEntry) { e.Result = "ok" },
		"Detail":   func(e *store.AuditEntry) { e.Detail = "" },
		"PrevHash": func(e *store.AuditEntry) { e.PrevHash = append([]byte{}, e.Hash...) },
		"Hash":     func(e *store.AuditEntry) { e.Hash = make([]byte, 32) },
	}
	typ := reflect.TypeOf(store.AuditEntry{})
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		f, ok := tamper[name]
		if !ok {
			t.Errorf("AuditEntry.%s has no tamper case: is it hashed?", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			es := chain(t)
			f(&es[1])
			_, err := store.VerifyChain(nil, 1, es)
			var ce *store.ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("editing %s: VerifyChain = %v, want a ChainError", name, err)
			}
			if ce.Seq != 2 && !(name == "Hash" && ce.Seq == 3) {
				t.Errorf("editing %s: the error names entry %d", name, ce.Seq)
			}
			// Recomputing the hash of the edited entry does not help: the
			// next entry's link still names the original.
			if name != "Seq" && name != "Hash" && name != "PrevHash" {
				es[1].Hash = store.HashAudit(es[1])
				if _, err := store.VerifyChain(nil, 1, es); !errors.As(err, &ce) || ce.Seq != 3 {
					t.Errorf("editing %s and rehashing it: %v, want entry 3's link broken", name, err)
				}
			}
		})
	}
	if len(tamper) != typ.NumField() {
		t.Errorf("%d tamper cases for %d fields", len(tamper), typ.NumField())
	}
}
