package store

import (
	"slices"
	"strings"
)

// ReadAhead names reads a transaction is about to make, so that an engine
// that can (Prefetcher) makes them all at once first (PostgreSQL: one
// round trip, sent with BEGIN when they are the transaction's first
// statements, instead of one round trip per read).
type ReadAhead struct {
	// Users: GetUser of each, then GetParty of the user's PartyID.
	Users []string
	// Officers: GetOfficer of each.
	Officers []string
	// KeyHashes: CertificatesByKey of each.
	KeyHashes []string
	// Certificates: GetCertificate of each serial.
	Certificates []string
	// Records: GetRecord of each.
	Records []RecordKey
}

// RecordKey names a record of the generic record space (Tx.GetRecord).
type RecordKey struct{ Kind, ID string }

// Prefetcher is the optional capability of a Tx that makes a ReadAhead's
// reads at once and answers the transaction's later GetUser, GetParty,
// GetOfficer, CertificatesByKey, GetCertificate and GetRecord calls for
// them from what it read, with the row locks those calls take in that
// transaction. Callers use the function Prefetch, which does nothing on
// an engine without it.
type Prefetcher interface {
	Prefetch(r ReadAhead) error
}

// ReadsAhead reports whether tx's engine acts on Prefetch (Prefetcher):
// a caller whose ReadAhead costs work to compute (a CSR parsed for its
// key hash) computes it only then.
func ReadsAhead(tx Tx) bool {
	_, ok := tx.(Prefetcher)
	return ok
}

// Prefetch tells tx what the caller is about to read (r), so an engine
// that can (Prefetcher) reads it all at once first. It is a hint: what
// the reads answer is the same with or without it, an ID that names
// nothing is simply not read ahead, and a write later in tx (to a user,
// party, officer, certificate or record) is seen by the reads after it. An error is a failure
// of the transaction (the engine could not run the read). In a View, an
// engine may end the transaction with the read ahead and run the View
// again if it then reads anything else (PostgreSQL: one round trip for a
// View that reads only what it read ahead), so a View that reads ahead
// must be safe to run twice: set what it captures, do not append to it.
func Prefetch(tx Tx, r ReadAhead) error {
	p, ok := tx.(Prefetcher)
	if !ok {
		return nil
	}
	r = ReadAhead{Users: distinct(r.Users), Officers: distinct(r.Officers), KeyHashes: distinct(r.KeyHashes),
		Certificates: distinct(r.Certificates), Records: distinctRecords(r.Records)}
	if len(r.Users)+len(r.Officers)+len(r.KeyHashes)+len(r.Certificates)+len(r.Records) == 0 {
		return nil
	}
	return p.Prefetch(r)
}

// Merge returns r with o's reads added (a new ReadAhead: neither is
// changed).
func (r ReadAhead) Merge(o ReadAhead) ReadAhead {
	return ReadAhead{Users: slices.Concat(r.Users, o.Users), Officers: slices.Concat(r.Officers, o.Officers),
		KeyHashes: slices.Concat(r.KeyHashes, o.KeyHashes), Certificates: slices.Concat(r.Certificates, o.Certificates),
		Records: slices.Concat(r.Records, o.Records)}
}

// distinctRecords is keys sorted without repeats or keys with an empty
// part (a copy).
func distinctRecords(keys []RecordKey) []RecordKey {
	out := make([]RecordKey, 0, len(keys))
	for _, k := range keys {
		if k.Kind != "" && k.ID != "" {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b RecordKey) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return slices.Compact(out)
}

// distinct is ids sorted without repeats or empty IDs (a copy: ids is
// the caller's).
func distinct(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
