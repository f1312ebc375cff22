package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"sort"
	"strings"
	"time"

	"github.com/smki/smki/store"
)

// Summary is one record type's count and content hash.
type Summary struct {
	Type  string `json:"type"`
	Count int    `json:"count"`
	Hash  string `json:"sha256"` // hex SHA-256 over the type's items in key order
}

// Types are the record types Digest summarises, in its output order.
var Types = []string{"meta", "intents", "certificates", "revocations", "crls",
	"parties", "users", "officers", "records", "audit", "counters"}

// Digest summarises st, read in one transaction. Items are hashed in key
// order as length-prefixed JSON of the store's records with every time in
// UTC and empty byte strings as null, so the summary depends on the data,
// not on the engine that holds it. "counters" covers the revocation
// sequence and the audit head, which later writes continue from.
func Digest(ctx context.Context, st store.Store) ([]Summary, error) {
	if err := st.SealAudit(ctx); err != nil {
		return nil, fmt.Errorf("sealing the audit log: %w", err)
	}
	var out []Summary
	err := st.View(ctx, func(tx store.Tx) error {
		out = out[:0]
		ex, ok := tx.(store.Exporter)
		if !ok {
			return fmt.Errorf("%w: %T has no store.Exporter", ErrUnsupported, tx)
		}
		var err error
		out, err = digestTx(tx, ex)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("digest: %w", err)
	}
	return out, nil
}

// summer hashes the items of one type.
type summer struct {
	h hash.Hash
	n int
}

func (s *summer) add(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var l [8]byte
	binary.BigEndian.PutUint64(l[:], uint64(len(b)))
	s.h.Write(l[:])
	s.h.Write(b)
	s.n++
	return nil
}

// digestTx summarises the store as tx sees it.
func digestTx(tx store.Tx, ex store.Exporter) ([]Summary, error) {
	sums := map[string]*summer{}
	for _, t := range Types {
		sums[t] = &summer{h: sha256.New()}
	}
	add := func(typ string, v any) error { return sums[typ].add(v) }

	keys, err := ex.MetaKeys()
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		v, err := tx.GetMeta(k)
		if err != nil {
			return nil, err
		}
		if err := add("meta", []any{k, nilIfEmpty(v)}); err != nil {
			return nil, err
		}
	}
	for after := ""; ; {
		ins, err := ex.Intents(after, page)
		if err != nil {
			return nil, err
		}
		for _, in := range ins {
			in.CreatedAt, in.LintDER = in.CreatedAt.UTC(), nilIfEmpty(in.LintDER)
			if err := add("intents", in); err != nil {
				return nil, err
			}
		}
		if len(ins) < page {
			break
		}
		after = ins[len(ins)-1].Serial
	}
	// Certificates, revocations and records a page at a time (in the
	// same order as a whole listing), so memory does not grow with them.
	for after := ""; ; {
		certs, err := tx.ListCertificates(store.CertFilter{After: after, Limit: page})
		if err != nil {
			return nil, err
		}
		for _, c := range certs {
			c.NotBefore, c.NotAfter, c.IssuedAt, c.RevokedAt = utc(c.NotBefore), utc(c.NotAfter), utc(c.IssuedAt), utc(c.RevokedAt)
			c.DER = nilIfEmpty(c.DER)
			if err := add("certificates", c); err != nil {
				return nil, err
			}
		}
		if len(certs) < page {
			break
		}
		after = certs[len(certs)-1].Serial
	}
	for since := uint64(0); ; {
		revs, err := tx.RevocationsSince(since, page)
		if err != nil {
			return nil, err
		}
		for _, r := range revs {
			r.RevokedAt = utc(r.RevokedAt)
			if err := add("revocations", r); err != nil {
				return nil, err
			}
		}
		if len(revs) < page {
			break
		}
		since = revs[len(revs)-1].Seq
	}
	crls, err := ex.CRLs()
	if err != nil {
		return nil, err
	}
	sort.Slice(crls, func(i, j int) bool { return crls[i].Name < crls[j].Name })
	for _, c := range crls {
		c.ThisUpdate, c.NextUpdate, c.DER = utc(c.ThisUpdate), utc(c.NextUpdate), nilIfEmpty(c.DER)
		if err := add("crls", c); err != nil {
			return nil, err
		}
	}
	if err := digestDirectory(tx, add); err != nil {
		return nil, err
	}
	kinds, err := ex.RecordKinds()
	if err != nil {
		return nil, err
	}
	for _, kind := range kinds {
		for after := ""; ; {
			recs, err := tx.ListRecords(kind, after, page)
			if err != nil {
				return nil, err
			}
			for _, r := range recs {
				r.Value = nilIfEmpty(r.Value)
				if err := add("records", r); err != nil {
					return nil, err
				}
			}
			if len(recs) < page {
				break
			}
			after = recs[len(recs)-1].ID
		}
	}
	var head []byte
	var last uint64
	for from := uint64(1); ; {
		es, err := tx.AuditEntries(from, page)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			e.Time, e.PrevHash, e.Hash = utc(e.Time), nilIfEmpty(e.PrevHash), nilIfEmpty(e.Hash)
			if err := add("audit", e); err != nil {
				return nil, err
			}
			head, last = e.Hash, e.Seq
		}
		if len(es) < page {
			break
		}
		from = es[len(es)-1].Seq + 1
	}
	revSeq, err := tx.RevocationSeq()
	if err != nil {
		return nil, err
	}
	if err := add("counters", map[string]any{"revocation_seq": revSeq, "audit_seq": last, "audit_head": hex.EncodeToString(head)}); err != nil {
		return nil, err
	}
	out := make([]Summary, 0, len(Types))
	for _, t := range Types {
		out = append(out, Summary{Type: t, Count: sums[t].n, Hash: hex.EncodeToString(sums[t].h.Sum(nil))})
	}
	return out, nil
}

// digestDirectory adds parties, users and officers, each sorted by ID.
func digestDirectory(tx store.Tx, add func(string, any) error) error {
	parties, err := tx.ListParties()
	if err != nil {
		return err
	}
	sort.Slice(parties, func(i, j int) bool { return parties[i].ID < parties[j].ID })
	for _, p := range parties {
		p.CreatedAt = utc(p.CreatedAt)
		if err := add("parties", p); err != nil {
			return err
		}
	}
	users, err := tx.ListUsers("")
	if err != nil {
		return err
	}
	sort.Slice(users, func(i, j int) bool { return users[i].ID < users[j].ID })
	for _, u := range users {
		u.CreatedAt = utc(u.CreatedAt)
		if err := add("users", u); err != nil {
			return err
		}
	}
	officers, err := tx.ListOfficers("")
	if err != nil {
		return err
	}
	sort.Slice(officers, func(i, j int) bool { return officers[i].ID < officers[j].ID })
	for _, o := range officers {
		o.CreatedAt = utc(o.CreatedAt)
		if err := add("officers", o); err != nil {
			return err
		}
	}
	return nil
}

func utc(t time.Time) time.Time { return t.UTC() }

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Compare returns nil if a and b are equal, or ErrMismatch naming every
// type whose count or hash differs.
func Compare(a, b []Summary) error {
	idx := func(s []Summary) map[string]Summary {
		m := make(map[string]Summary, len(s))
		for _, x := range s {
			m[x.Type] = x
		}
		return m
	}
	ma, mb := idx(a), idx(b)
	var diffs []string
	for _, t := range Types {
		x, y := ma[t], mb[t]
		if x != y {
			diffs = append(diffs, fmt.Sprintf("%s: %d/%.12s vs %d/%.12s", t, x.Count, x.Hash, y.Count, y.Hash))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%w: %s", ErrMismatch, strings.Join(diffs, "; "))
	}
	return nil
}
