package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smki/smki/store"
)

// Stable error codes.
var (
	// ErrNotEmpty: the destination already holds data; Copy writes only
	// into an empty store, so a copy is never merged with other state.
	ErrNotEmpty = errors.New("E_MIGRATE_DESTINATION_NOT_EMPTY")
	// ErrUnsupported: an engine's Tx lacks store.Exporter or store.Importer.
	ErrUnsupported = errors.New("E_MIGRATE_UNSUPPORTED")
	// ErrMismatch: source and destination summaries differ after a copy.
	ErrMismatch = errors.New("E_MIGRATE_MISMATCH")
)

// page is how many intents, revocations or audit entries Copy reads per call.
const page = 1000

// Copy copies everything in src into dst, which must be empty
// (ErrNotEmpty), in one dst transaction: on any error dst is left as it
// was. src is read in one read transaction, so the copy is a consistent
// snapshot even if src is in use. Certificates keep their status:
// revoked ones are inserted good and then revoked by ImportRevocation
// with their original sequence number, in sequence order.
func Copy(ctx context.Context, src, dst store.Store) error {
	// Entries committed but not yet chained are chained first, so the
	// copy's audit log is the whole log.
	if err := src.SealAudit(ctx); err != nil {
		return fmt.Errorf("sealing the source's audit log: %w", err)
	}
	return src.View(ctx, func(stx store.Tx) error {
		ex, ok := stx.(store.Exporter)
		if !ok {
			return fmt.Errorf("%w: source %T has no store.Exporter", ErrUnsupported, stx)
		}
		return dst.Update(ctx, func(dtx store.Tx) error {
			im, ok := dtx.(store.Importer)
			if !ok {
				return fmt.Errorf("%w: destination %T has no store.Importer", ErrUnsupported, dtx)
			}
			dex, ok := dtx.(store.Exporter)
			if !ok {
				return fmt.Errorf("%w: destination %T has no store.Exporter", ErrUnsupported, dtx)
			}
			if err := checkEmpty(dtx, dex); err != nil {
				return err
			}
			return copyAll(stx, ex, func(w write, what string, args ...any) error {
				if err := w(dtx, im); err != nil {
					return fmt.Errorf("writing "+what+": %w", append(args, err)...)
				}
				return nil
			})
		})
	})
}

// checkEmpty fails with ErrNotEmpty naming the first kind of data found.
func checkEmpty(tx store.Tx, ex store.Exporter) error {
	probes := []struct {
		what string
		n    func() (int, error)
	}{
		{"meta", func() (int, error) { k, err := ex.MetaKeys(); return len(k), err }},
		{"intents", func() (int, error) { v, err := ex.Intents("", 1); return len(v), err }},
		{"certificates", func() (int, error) { v, err := tx.ListCertificates(store.CertFilter{Limit: 1}); return len(v), err }},
		{"revocations", func() (int, error) { n, err := tx.RevocationSeq(); return int(min(n, 1)), err }},
		{"CRLs", func() (int, error) { v, err := ex.CRLs(); return len(v), err }},
		{"parties", func() (int, error) { v, err := tx.ListParties(); return len(v), err }},
		{"users", func() (int, error) { v, err := tx.ListUsers(""); return len(v), err }},
		{"officers", func() (int, error) { v, err := tx.ListOfficers(""); return len(v), err }},
		{"records", func() (int, error) { v, err := ex.RecordKinds(); return len(v), err }},
		{"audit entries", func() (int, error) { v, err := tx.AuditEntries(1, 1); return len(v), err }},
	}
	for _, p := range probes {
		n, err := p.n()
		if err != nil {
			return fmt.Errorf("checking the destination is empty (%s): %w", p.what, err)
		}
		if n > 0 {
			return fmt.Errorf("%w: it holds %s; nothing was written: give an empty database, schema or a new bbolt file", ErrNotEmpty, p.what)
		}
	}
	return nil
}

// write is one row's write into the destination.
type write func(dtx store.Tx, im store.Importer) error

// putFunc is where copyAll hands each write (what and args name the row
// in an error): into Copy's one transaction at once, or into the next of
// CopyToNewBolt's batches.
type putFunc func(w write, what string, args ...any) error

// copyAll copies in dependency order: intents before the certificates
// that complete them, certificates before their revocations.
func copyAll(stx store.Tx, ex store.Exporter, put putFunc) error {
	keys, err := ex.MetaKeys()
	if err != nil {
		return fmt.Errorf("reading meta keys: %w", err)
	}
	for _, k := range keys {
		v, err := stx.GetMeta(k)
		if err != nil {
			return fmt.Errorf("reading meta %q: %w", k, err)
		}
		if err := put(func(dtx store.Tx, _ store.Importer) error { return dtx.PutMeta(k, v) }, "meta %q", k); err != nil {
			return err
		}
	}
	for after := ""; ; {
		ins, err := ex.Intents(after, page)
		if err != nil {
			return fmt.Errorf("reading intents: %w", err)
		}
		for _, in := range ins {
			if err := put(func(_ store.Tx, im store.Importer) error { return im.ImportIntent(in) }, "intent %s", in.Serial); err != nil {
				return err
			}
		}
		if len(ins) < page {
			break
		}
		after = ins[len(ins)-1].Serial
	}
	// In issuance order, so the destination assigns the same issuance
	// sequence numbers (the source's are gap-free from 1).
	// A page at a time, so the source's side does not hold them all.
	for since := uint64(0); ; {
		certs, err := stx.CertificatesIssuedSince(since, page)
		if err != nil {
			return fmt.Errorf("reading certificates: %w", err)
		}
		for _, c := range certs {
			since = c.IssuanceSeq
			// Inserted good; ImportRevocation below sets the revocation fields.
			c.Status, c.RevokedAt, c.Reason, c.RevocationSeq, c.IssuanceSeq = store.StatusGood, time.Time{}, 0, 0, 0
			if err := put(func(dtx store.Tx, _ store.Importer) error { return dtx.PutCertificate(c) }, "certificate %s", c.Serial); err != nil {
				return err
			}
		}
		if len(certs) < page {
			break
		}
	}
	for since := uint64(0); ; {
		revs, err := stx.RevocationsSince(since, page)
		if err != nil {
			return fmt.Errorf("reading revocations: %w", err)
		}
		for _, r := range revs {
			if err := put(func(_ store.Tx, im store.Importer) error { return im.ImportRevocation(r) }, "revocation %d", r.Seq); err != nil {
				return err
			}
		}
		if len(revs) < page {
			break
		}
		since = revs[len(revs)-1].Seq
	}
	crls, err := ex.CRLs()
	if err != nil {
		return fmt.Errorf("reading CRLs: %w", err)
	}
	for _, c := range crls {
		if err := put(func(dtx store.Tx, _ store.Importer) error { return dtx.PutCRL(c) }, "CRL %s", c.Name); err != nil {
			return err
		}
	}
	if err := copyDirectory(stx, put); err != nil {
		return err
	}
	kinds, err := ex.RecordKinds()
	if err != nil {
		return fmt.Errorf("reading record kinds: %w", err)
	}
	for _, kind := range kinds {
		for after := ""; ; {
			recs, err := stx.ListRecords(kind, after, page)
			if err != nil {
				return fmt.Errorf("reading records %q: %w", kind, err)
			}
			for _, r := range recs {
				if err := put(func(dtx store.Tx, _ store.Importer) error { return dtx.PutRecord(r.Kind, r.ID, r.Value) }, "record %q/%q", r.Kind, r.ID); err != nil {
					return err
				}
			}
			if len(recs) < page {
				break
			}
			after = recs[len(recs)-1].ID
		}
	}
	for from := uint64(1); ; {
		es, err := stx.AuditEntries(from, page)
		if err != nil {
			return fmt.Errorf("reading audit entries: %w", err)
		}
		for _, e := range es {
			if err := put(func(_ store.Tx, im store.Importer) error { return im.ImportAudit(e) }, "audit entry %d", e.Seq); err != nil {
				return err
			}
		}
		if len(es) < page {
			break
		}
		from = es[len(es)-1].Seq + 1
	}
	return nil
}

// copyDirectory copies parties, users and officers.
func copyDirectory(stx store.Tx, put putFunc) error {
	parties, err := stx.ListParties()
	if err != nil {
		return fmt.Errorf("reading parties: %w", err)
	}
	for _, p := range parties {
		if err := put(func(dtx store.Tx, _ store.Importer) error { return dtx.CreateParty(p) }, "party %s", p.ID); err != nil {
			return err
		}
	}
	users, err := stx.ListUsers("")
	if err != nil {
		return fmt.Errorf("reading users: %w", err)
	}
	for _, u := range users {
		if err := put(func(dtx store.Tx, _ store.Importer) error { return dtx.CreateUser(u) }, "user %s", u.ID); err != nil {
			return err
		}
	}
	officers, err := stx.ListOfficers("")
	if err != nil {
		return fmt.Errorf("reading officers: %w", err)
	}
	for _, o := range officers {
		if err := put(func(dtx store.Tx, _ store.Importer) error { return dtx.CreateOfficer(o) }, "officer %s", o.ID); err != nil {
			return err
		}
	}
	return nil
}
