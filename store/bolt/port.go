package bolt

import (
	"fmt"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/check"
)

// The store.Exporter and store.Importer capabilities (see store/port.go),
// used only by store migration.

var (
	_ store.Exporter = (*tx)(nil)
	_ store.Importer = (*tx)(nil)
)

// MetaKeys returns every meta key in byte order.
func (t *tx) MetaKeys() ([]string, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	var out []string
	err := t.bucket(bMeta).ForEach(func(k, _ []byte) error {
		out = append(out, string(k))
		return nil
	})
	return out, err
}

// CRLs returns every stored CRL by name.
func (t *tx) CRLs() ([]store.CRL, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	var out []store.CRL
	err := t.bucket(bCRLs).ForEach(func(k, v []byte) error {
		var c store.CRL
		if err := decode(v, &c); err != nil {
			return fmt.Errorf("bolt: CRL %q: %w", k, err)
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// RecordKinds lists the nested kind buckets that hold a record (a kind
// whose last record was deleted keeps an empty bucket, not listed).
func (t *tx) RecordKinds() ([]string, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	var out []string
	err := t.bucket(bRecords).ForEach(func(k, v []byte) error {
		b := t.bucket(bRecords).Bucket(k)
		if v != nil || b == nil {
			return fmt.Errorf("bolt: records: %q is not a kind bucket: %w", k, store.ErrCorrupt)
		}
		if first, _ := b.Cursor().First(); first != nil {
			out = append(out, string(k))
		}
		return nil
	})
	return out, err
}

// ImportIntent stores an intent with its state.
func (t *tx) ImportIntent(in store.Intent) error {
	if err := t.write("import intent"); err != nil {
		return err
	}
	state := in.State
	if err := check.IntentState(state); err != nil {
		return fmt.Errorf("bolt: import intent %s: %w", in.Serial, err)
	}
	in.State = store.IntentOpen
	in, err := check.Intent(in)
	if err != nil {
		return fmt.Errorf("bolt: import intent: %w", err)
	}
	in.State = state
	k := []byte(in.Serial)
	if t.bucket(bIntents).Get(k) != nil || t.bucket(bCerts).Get(k) != nil {
		return fmt.Errorf("bolt: import intent %s: %w", in.Serial, store.ErrDuplicateSerial)
	}
	return t.put(bIntents, k, in)
}

// ImportRevocation revokes r.Serial with r's sequence number and fields.
func (t *tx) ImportRevocation(r store.Revocation) error {
	if err := t.write("import revocation"); err != nil {
		return err
	}
	if err := check.Revocation(r.Serial, r.Reason, r.RevokedAt); err != nil {
		return fmt.Errorf("bolt: import revocation: %w", err)
	}
	seq, err := t.counter(kRevSeq)
	if err != nil {
		return err
	}
	var c store.Certificate
	if err := t.get(bCerts, r.Serial, "certificate", &c); err != nil {
		return fmt.Errorf("bolt: import revocation: %w", err)
	}
	if err := check.ImportedRevocation(r, seq, c); err != nil {
		return fmt.Errorf("bolt: %w", err)
	}
	_, err = t.markRevoked(c, r.Reason, r.RevokedAt, r.Seq)
	return err
}

// ImportAudit appends e with its own Seq and hashes after checking that
// they continue the chain.
func (t *tx) ImportAudit(e store.AuditEntry) error {
	if err := t.write("import audit"); err != nil {
		return err
	}
	seq, prev, err := t.auditHead()
	if err != nil {
		return err
	}
	if err := check.ImportedAudit(e, seq, prev); err != nil {
		return fmt.Errorf("bolt: %w", err)
	}
	e.Time = e.Time.UTC()
	if err := t.put(bAudit, seqKey(e.Seq), e); err != nil {
		return err
	}
	if err := t.setCounter(kAuditSeq, e.Seq); err != nil {
		return err
	}
	if err := t.bucket(bState).Put(kAuditHash, e.Hash); err != nil {
		return fmt.Errorf("bolt: audit head: %w", err)
	}
	return nil
}
