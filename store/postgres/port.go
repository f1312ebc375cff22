package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/check"
)

// The store.Exporter and store.Importer capabilities (see store/port.go),
// used only by store migration.

var (
	_ store.Exporter = (*tx)(nil)
	_ store.Importer = (*tx)(nil)
)

// MetaKeys returns every meta key in byte order (the column is COLLATE "C").
func (t *tx) MetaKeys() ([]string, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	return queryAll(t, "meta keys", func(row pgx.Row, k *string) error { return row.Scan(k) },
		"SELECT key FROM meta ORDER BY key")
}

// Intents returns intents of every state after a serial, by serial.
func (t *tx) Intents(after string, limit int) ([]store.Intent, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := check.Limit(limit); err != nil {
		return nil, fmt.Errorf("postgres: intents: %w", err)
	}
	return queryAll(t, "intents", scanIntent, "SELECT "+intentCols+" FROM intents WHERE serial > $1 ORDER BY serial LIMIT $2",
		after, limitArg(limit))
}

// CRLs returns every stored CRL by name.
func (t *tx) CRLs() ([]store.CRL, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	names, err := queryAll(t, "CRL names", func(row pgx.Row, n *string) error { return row.Scan(n) },
		"SELECT name FROM crls ORDER BY name")
	if err != nil {
		return nil, err
	}
	out := make([]store.CRL, 0, len(names))
	for _, n := range names {
		c, err := t.GetCRL(n)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// RecordKinds returns the kinds that have records, in byte order.
func (t *tx) RecordKinds() ([]string, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	return queryAll(t, "record kinds", func(row pgx.Row, k *string) error { return row.Scan(k) },
		"SELECT DISTINCT kind FROM records ORDER BY kind")
}

// ImportIntent claims the serial and stores the intent with its state.
func (t *tx) ImportIntent(in store.Intent) error {
	if err := t.write("import intent"); err != nil {
		return err
	}
	state := in.State
	if err := check.IntentState(state); err != nil {
		return fmt.Errorf("postgres: import intent %s: %w", in.Serial, err)
	}
	in.State = store.IntentOpen
	in, err := check.Intent(in)
	if err != nil {
		return fmt.Errorf("postgres: import intent: %w", err)
	}
	op := "import intent " + in.Serial
	n, err := t.exec(op, "INSERT INTO serials (serial) VALUES ($1) ON CONFLICT DO NOTHING", in.Serial)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("postgres: %s: %w", op, store.ErrDuplicateSerial)
	}
	_, err = t.exec(op, `INSERT INTO intents
		(serial, issuer, profile, user_id, lint_der, created_at, state) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		in.Serial, in.Issuer, in.Profile, in.UserID, in.LintDER, ts(in.CreatedAt), string(state))
	return err
}

// ImportRevocation revokes r.Serial with r's sequence number and fields,
// and sets the revocation counter to r.Seq.
func (t *tx) ImportRevocation(r store.Revocation) error {
	if err := t.write("import revocation"); err != nil {
		return err
	}
	if err := check.Revocation(r.Serial, r.Reason, r.RevokedAt); err != nil {
		return fmt.Errorf("postgres: import revocation: %w", err)
	}
	t.dropCertificates()
	if err := t.lockRevocationSeq(); err != nil {
		return err
	}
	seq, err := t.RevocationSeq()
	if err != nil {
		return err
	}
	c, err := t.GetCertificate(r.Serial)
	if err != nil {
		return fmt.Errorf("postgres: import revocation: %w", err)
	}
	if err := check.ImportedRevocation(r, seq, c); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	op := "import revocation " + r.Serial
	at := ts(r.RevokedAt)
	// Through the transaction's counter (flushed before commit), so an
	// import and a Revoke in one transaction cannot overwrite each other.
	if err := t.setRevocationSeq(int64(r.Seq)); err != nil {
		return err
	}
	_, err = t.exec(op, `INSERT INTO revocations (seq, serial, reason, revoked_at)
		VALUES ($1, $2, $3, $4)`, int64(r.Seq), r.Serial, r.Reason, at)
	return err
}

// ImportAudit appends e with its own Seq and hashes after checking that
// they continue the chain from the audit head row.
func (t *tx) ImportAudit(e store.AuditEntry) error {
	if err := t.write("import audit"); err != nil {
		return err
	}
	seq, prev, err := t.lockedAuditHead()
	if err != nil {
		return err
	}
	if err := check.ImportedAudit(e, uint64(seq), prev); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	op := fmt.Sprintf("import audit %d", e.Seq)
	if _, err := t.exec(op, `INSERT INTO audit (seq, time, actor, action, subject, result, detail, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, int64(e.Seq), ts(e.Time), e.Actor, e.Action, e.Subject, e.Result, e.Detail,
		e.PrevHash, e.Hash); err != nil {
		return err
	}
	return t.setAuditHead(int64(e.Seq), e.Hash)
}
