package postgres

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/internal/check"
)

// GetCRL returns the latest CRL named name, or ErrNotFound. The number is
// numeric(20) and travels as text so the full uint64 range round-trips.
func (t *tx) GetCRL(name string) (store.CRL, error) {
	var c store.CRL
	if err := t.read(); err != nil {
		return c, err
	}
	var num, tu, nu string
	row := t.q.QueryRow(t.ctx, "SELECT name, number::text, this_update, next_update, der FROM crls WHERE name = $1"+t.lockRow(), name)
	if err := row.Scan(&c.Name, &num, &tu, &nu, &c.DER); err != nil {
		return store.CRL{}, t.notFound("CRL "+name, err)
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return store.CRL{}, fmt.Errorf("postgres: CRL %s number %q: %w", name, num, store.ErrCorrupt)
	}
	c.Number = n
	return c, times(&tu, &c.ThisUpdate, &nu, &c.NextUpdate)
}

// PutCRL replaces the CRL stored under c.Name.
func (t *tx) PutCRL(c store.CRL) error {
	if err := t.write("put CRL"); err != nil {
		return err
	}
	c, err := check.CRL(c)
	if err != nil {
		return fmt.Errorf("postgres: put CRL: %w", err)
	}
	// An upsert with no answer to read: it goes with the transaction's
	// next round trip (txConn.Defer), COMMIT's for a revocation.
	t.q.Defer("put CRL "+c.Name, `INSERT INTO crls (name, number, this_update, next_update, der)
		VALUES ($1, $2::numeric, $3, $4, $5) ON CONFLICT (name) DO UPDATE
		SET number = excluded.number, this_update = excluded.this_update, next_update = excluded.next_update, der = excluded.der`,
		c.Name, strconv.FormatUint(c.Number, 10), ts(c.ThisUpdate), ts(c.NextUpdate), c.DER)
	return nil
}

// insert runs an INSERT ... ON CONFLICT DO NOTHING, mapping "no row" to
// ErrExists; update runs an UPDATE, mapping "no row" to ErrNotFound.
func (t *tx) insert(what, id, sql string, args ...any) error {
	n, err := t.exec("create "+what+" "+id, sql+" ON CONFLICT DO NOTHING", args...)
	if err == nil && n == 0 {
		err = fmt.Errorf("postgres: create %s %q: %w", what, id, store.ErrExists)
	}
	return err
}

func (t *tx) update(what, id, sql string, args ...any) error {
	n, err := t.exec("update "+what+" "+id, sql, args...)
	if err == nil && n == 0 {
		err = fmt.Errorf("postgres: update %s %q: %w", what, id, store.ErrNotFound)
	}
	return err
}

// CreateParty inserts p (ErrExists).
func (t *tx) CreateParty(p store.Party) error {
	if err := t.write("create party"); err != nil {
		return err
	}
	t.dropDirectory()
	p, err := check.Party(p)
	if err != nil {
		return fmt.Errorf("postgres: create party: %w", err)
	}
	return t.insert("party", p.ID, "INSERT INTO parties (id, name, status, created_at) VALUES ($1, $2, $3, $4)",
		p.ID, p.Name, p.Status, ts(p.CreatedAt))
}

// PutParty replaces an existing party (ErrNotFound).
func (t *tx) PutParty(p store.Party) error {
	if err := t.write("put party"); err != nil {
		return err
	}
	t.dropDirectory()
	p, err := check.Party(p)
	if err != nil {
		return fmt.Errorf("postgres: put party: %w", err)
	}
	return t.update("party", p.ID, "UPDATE parties SET name = $2, status = $3, created_at = $4 WHERE id = $1",
		p.ID, p.Name, p.Status, ts(p.CreatedAt))
}

func scanParty(row pgx.Row, p *store.Party) error {
	var at string
	if err := row.Scan(&p.ID, &p.Name, &p.Status, &at); err != nil {
		return err
	}
	return times(&at, &p.CreatedAt)
}

// GetParty returns the party id, or ErrNotFound.
func (t *tx) GetParty(id string) (store.Party, error) {
	var p store.Party
	if err := t.read(); err != nil {
		return p, err
	}
	if p, found, absent := t.aheadNow().party(id); found || absent {
		if absent {
			return p, t.notFound("party "+id, pgx.ErrNoRows)
		}
		return p, nil
	}
	if err := scanParty(t.q.QueryRow(t.ctx, "SELECT id, name, status, created_at FROM parties WHERE id = $1"+t.shareRow(), id), &p); err != nil {
		return store.Party{}, t.notFound("party "+id, err)
	}
	return p, nil
}

// ListParties returns every party, by ID.
func (t *tx) ListParties() ([]store.Party, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	return queryAll(t, "list parties", scanParty, "SELECT id, name, status, created_at FROM parties ORDER BY id")
}

// CreateUser inserts u (ErrExists).
func (t *tx) CreateUser(u store.User) error {
	if err := t.write("create user"); err != nil {
		return err
	}
	t.dropDirectory()
	u, err := check.User(u)
	if err != nil {
		return fmt.Errorf("postgres: create user: %w", err)
	}
	return t.insert("user", u.ID, "INSERT INTO users (id, party_id, role, name, status, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
		u.ID, u.PartyID, u.Role, u.Name, u.Status, ts(u.CreatedAt))
}

// PutUser replaces an existing user (ErrNotFound).
func (t *tx) PutUser(u store.User) error {
	if err := t.write("put user"); err != nil {
		return err
	}
	t.dropDirectory()
	u, err := check.User(u)
	if err != nil {
		return fmt.Errorf("postgres: put user: %w", err)
	}
	return t.update("user", u.ID, "UPDATE users SET party_id = $2, role = $3, name = $4, status = $5, created_at = $6 WHERE id = $1",
		u.ID, u.PartyID, u.Role, u.Name, u.Status, ts(u.CreatedAt))
}

const userCols = "id, party_id, role, name, status, created_at"

func scanUser(row pgx.Row, u *store.User) error {
	var at string
	if err := row.Scan(&u.ID, &u.PartyID, &u.Role, &u.Name, &u.Status, &at); err != nil {
		return err
	}
	return times(&at, &u.CreatedAt)
}

// GetUser returns the user id, or ErrNotFound.
func (t *tx) GetUser(id string) (store.User, error) {
	var u store.User
	if err := t.read(); err != nil {
		return u, err
	}
	if u, found, absent := t.aheadNow().user(id); found || absent {
		if absent {
			return u, t.notFound("user "+id, pgx.ErrNoRows)
		}
		return u, nil
	}
	if err := scanUser(t.q.QueryRow(t.ctx, "SELECT "+userCols+" FROM users WHERE id = $1"+t.shareRow(), id), &u); err != nil {
		return store.User{}, t.notFound("user "+id, err)
	}
	return u, nil
}

// ListUsers returns the users of partyID ("" for all), by ID.
func (t *tx) ListUsers(partyID string) ([]store.User, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	return queryAll(t, "list users", scanUser,
		"SELECT "+userCols+" FROM users WHERE $1 = '' OR party_id = $1 ORDER BY id", partyID)
}

// CreateOfficer inserts o (ErrExists).
func (t *tx) CreateOfficer(o store.Officer) error {
	if err := t.write("create officer"); err != nil {
		return err
	}
	t.dropOfficers()
	o, err := check.Officer(o)
	if err != nil {
		return fmt.Errorf("postgres: create officer: %w", err)
	}
	return t.insert("officer", o.ID, `INSERT INTO officers (id, name, party_id, kind, cert_serial, status, created_at, appointed_by, cert_not_after)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, o.ID, o.Name, o.PartyID, o.Kind, o.CertSerial, o.Status, ts(o.CreatedAt), o.AppointedBy,
		ts(o.CertNotAfter))
}

// PutOfficer replaces an existing officer (ErrNotFound).
func (t *tx) PutOfficer(o store.Officer) error {
	if err := t.write("put officer"); err != nil {
		return err
	}
	t.dropOfficers()
	o, err := check.Officer(o)
	if err != nil {
		return fmt.Errorf("postgres: put officer: %w", err)
	}
	return t.update("officer", o.ID, `UPDATE officers SET name = $2, party_id = $3, kind = $4, cert_serial = $5, status = $6,
		created_at = $7, appointed_by = $8, cert_not_after = $9 WHERE id = $1`, o.ID, o.Name, o.PartyID, o.Kind, o.CertSerial, o.Status,
		ts(o.CreatedAt), o.AppointedBy, ts(o.CertNotAfter))
}

const officerCols = "id, name, party_id, kind, cert_serial, status, created_at, appointed_by, cert_not_after"

func scanOfficer(row pgx.Row, o *store.Officer) error {
	var at, notAfter string
	if err := row.Scan(&o.ID, &o.Name, &o.PartyID, &o.Kind, &o.CertSerial, &o.Status, &at, &o.AppointedBy, &notAfter); err != nil {
		return err
	}
	return times(&at, &o.CreatedAt, &notAfter, &o.CertNotAfter)
}

// GetOfficer returns the officer id, or ErrNotFound.
func (t *tx) GetOfficer(id string) (store.Officer, error) {
	var o store.Officer
	if err := t.read(); err != nil {
		return o, err
	}
	if o, found, absent := t.aheadNow().officer(id); found || absent {
		if absent {
			return o, t.notFound("officer "+id, pgx.ErrNoRows)
		}
		return o, nil
	}
	if err := scanOfficer(t.q.QueryRow(t.ctx, "SELECT "+officerCols+" FROM officers WHERE id = $1"+t.lockRow(), id), &o); err != nil {
		return store.Officer{}, t.notFound("officer "+id, err)
	}
	return o, nil
}

// ListOfficers returns the officers of partyID ("" for all), by ID.
func (t *tx) ListOfficers(partyID string) ([]store.Officer, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	return queryAll(t, "list officers", scanOfficer,
		"SELECT "+officerCols+" FROM officers WHERE $1 = '' OR party_id = $1 ORDER BY id", partyID)
}

// readAhead is what Prefetch read: under each key it asked for, the row,
// or nil where it knows there is none (an officer, certificate or record
// it asked for and did not get; in a View, a user and a user's party,
// read by an outer join). A key it did not ask for, or a user it asked
// for in a read-write transaction and did not get (the join that locks
// both rows cannot tell a missing user from a missing party), is read
// when asked.
type readAhead struct {
	users    map[string]*store.User
	parties  map[string]*store.Party
	officers map[string]*store.Officer
	byKey    map[string][]store.Certificate
	certs    map[string]*store.Certificate // by serial
	records  map[store.RecordKey]*[]byte
}

// aheadOf is m's answer for k: the row (found), no row (absent), or
// neither (not read ahead).
func aheadOf[K comparable, T any](m map[K]*T, k K) (v T, found, absent bool) {
	p, ok := m[k]
	switch {
	case !ok:
		return v, false, false
	case p == nil:
		return v, false, true
	}
	return *p, true, false
}

func (r *readAhead) user(id string) (store.User, bool, bool) {
	if r == nil {
		return store.User{}, false, false
	}
	return aheadOf(r.users, id)
}

func (r *readAhead) party(id string) (store.Party, bool, bool) {
	if r == nil {
		return store.Party{}, false, false
	}
	return aheadOf(r.parties, id)
}

func (r *readAhead) officer(id string) (store.Officer, bool, bool) {
	if r == nil {
		return store.Officer{}, false, false
	}
	return aheadOf(r.officers, id)
}

func (r *readAhead) cert(serial string) (store.Certificate, bool, bool) {
	if r == nil {
		return store.Certificate{}, false, false
	}
	return aheadOf(r.certs, serial)
}

func (r *readAhead) certsByKey(keyHash string) ([]store.Certificate, bool) {
	if r == nil {
		return nil, false
	}
	cs, ok := r.byKey[keyHash]
	return slices.Clone(cs), ok
}

func (r *readAhead) record(k store.RecordKey) ([]byte, bool, bool) {
	if r == nil {
		return nil, false, false
	}
	v, found, absent := aheadOf(r.records, k)
	return slices.Clone(v), found, absent
}

// dropDirectory forgets the users and parties read ahead (a write to
// either table); dropOfficers, the officers (a write to officers). A read
// ahead not yet sent is sent first, so that it reads what was there
// before the write and is forgotten with it.
func (t *tx) dropDirectory() {
	if t.ahead = t.aheadNow(); t.ahead != nil {
		t.ahead.users, t.ahead.parties = nil, nil
	}
}

func (t *tx) dropOfficers() {
	if t.ahead = t.aheadNow(); t.ahead != nil {
		t.ahead.officers = nil
	}
}

// dropCertificates forgets the certificates read ahead, by key and by
// serial (a certificate written other than by RecordIssued, or revoked);
// dropRecords, the records (a record written or deleted). A read ahead
// not yet sent keeps neither when it is (certGen, recordGen): it is sent
// before the write's own statement, so it would read what the write
// changes.
func (t *tx) dropCertificates() {
	t.certGen++
	if t.ahead != nil {
		t.ahead.byKey, t.ahead.certs = nil, nil
	}
}

func (t *tx) dropRecords() {
	t.recordGen++
	if t.ahead != nil {
		t.ahead.records = nil
	}
}

// recorded adds c, just recorded by RecordIssued (status good), to the
// certificates read ahead of its key and serial, so that they answer as
// the table now would.
func (t *tx) recorded(c store.Certificate) {
	if t.ahead == nil {
		return
	}
	if cs, ok := t.ahead.byKey[c.KeyHash]; ok && c.KeyHash != "" {
		i, _ := slices.BinarySearchFunc(cs, c.Serial, func(x store.Certificate, s string) int { return strings.Compare(x.Serial, s) })
		t.ahead.byKey[c.KeyHash] = slices.Insert(slices.Clone(cs), i, c)
	}
	if _, ok := t.ahead.certs[c.Serial]; ok {
		t.ahead.certs[c.Serial] = &c
	}
}

// aheadNow is what Prefetch read, after sending a read ahead still
// deferred. If sending fails, the failure is the next statement's
// (txConn's, sticky) and nothing is answered from memory.
func (t *tx) aheadNow() *readAhead {
	if err := t.q.FlushReads(t.ctx); err != nil {
		return nil
	}
	return t.ahead
}

// revocationGuardSQL share-locks the revocation counter's row, which
// every revocation locks FOR UPDATE first and writes before it commits.
const revocationGuardSQL = "SELECT 1 FROM counters WHERE name = 'revocation' FOR SHARE"

// guardRevocation is what holds the certificates an Update reads against
// revocation until it commits (store.Tx, GetCertificate): the revocation
// counter's row share-locked (revocationGuardSQL), once, in b's round
// trip if b is given (Prefetch), else deferred to the next statement's
// (GetCertificate's), in either case ahead of the certificates' read. SSI
// sees no conflict with a revocation, which runs at READ COMMITTED
// (Urgent), so the lock is what orders them, as the directory rows' FOR
// SHARE does: a revocation that has taken the counter commits before the
// lock is granted, and then (its row written after this transaction's
// snapshot) fails it with a serialisation error, so the retry reads the
// certificate revoked (a queued Update, at READ COMMITTED, reads it in a
// later statement, which sees it); one that comes later waits for this
// transaction's commit. A View needs no lock, an Urgent transaction none
// either (revocations queue on the counter themselves), nor one that has
// locked the counter to revoke (rev.locked). It returns whether it
// queued the lock in b.
func (t *tx) guardRevocation(b *pgx.Batch) bool {
	if !t.writable || t.urgent || t.rev.locked || t.revGuard {
		return false
	}
	t.revGuard = true
	if b != nil {
		b.Queue(revocationGuardSQL)
		return true
	}
	t.q.Defer("revocation guard", revocationGuardSQL)
	return false
}

// prefetchUsersSQL reads users with their parties. In a read-write
// transaction it takes the locks GetUser and GetParty take (shareRow) on
// both rows, in user ID order, so it joins them (a lock cannot be taken
// on the nullable side of an outer join); a View's (viewUsersSQL) reads a
// user whose party row is missing too, so that every user it asked for
// is answered, present or not.
const (
	prefetchUsersSQL = "SELECT u.id, u.party_id, u.role, u.name, u.status, u.created_at, p.id, p.name, p.status, p.created_at " +
		"FROM users u JOIN parties p ON p.id = u.party_id WHERE u.id = ANY ($1::text[]) ORDER BY u.id"
	viewUsersSQL = "SELECT u.id, u.party_id, u.role, u.name, u.status, u.created_at, p.id, p.name, p.status, p.created_at " +
		"FROM users u LEFT JOIN parties p ON p.id = u.party_id WHERE u.id = ANY ($1::text[]) ORDER BY u.id"
)

// Prefetch makes r's reads, each with the locks its own Get would take,
// in the transaction's next round trip (txConn.DeferRead): with the next
// statement, or on their own when a GetUser, GetParty, GetOfficer,
// CertificatesByKey, GetCertificate or GetRecord comes first. Those calls
// then cost none (store.Prefetch). A user, party, officer, certificate or
// record written later in the transaction is read again (a certificate
// RecordIssued records is added to what was read ahead instead). A group
// of issuances (store.Grouper) so reads its checks' users, parties,
// officers, keys, replaced certificates and records in the round trip of
// its writes.
func (t *tx) Prefetch(r store.ReadAhead) error {
	if err := t.read(); err != nil {
		return err
	}
	b := &pgx.Batch{}
	if len(r.Users) > 0 {
		if t.writable {
			b.Queue(prefetchUsersSQL+t.shareRow(), r.Users)
		} else {
			b.Queue(viewUsersSQL, r.Users)
		}
	}
	if len(r.Officers) > 0 {
		b.Queue("SELECT "+officerCols+" FROM officers WHERE id = ANY ($1::text[]) ORDER BY id"+t.lockRow(), r.Officers)
	}
	for _, kh := range r.KeyHashes {
		b.Queue(certsByKeySQL, kh)
	}
	if len(r.Records) > 0 {
		kinds, ids := make([]string, len(r.Records)), make([]string, len(r.Records))
		for i, k := range r.Records {
			kinds[i], ids[i] = k.Kind, k.ID
		}
		lock := ""
		if t.locking {
			lock = " FOR UPDATE OF r"
		}
		b.Queue(prefetchRecordsSQL+lock, kinds, ids)
	}
	guarded := false
	if len(r.Certificates) > 0 {
		guarded = t.guardRevocation(b)
		lock := ""
		if t.locking {
			lock = " FOR UPDATE OF c"
		}
		b.Queue("SELECT "+certCols+" FROM "+certFrom+" WHERE c.serial = ANY ($1::text[]) ORDER BY c.serial"+lock, r.Certificates)
	}
	if len(b.QueuedQueries) == 0 {
		return nil
	}
	certGen, recordGen := t.certGen, t.recordGen
	t.q.DeferRead("", b, func(br pgx.BatchResults) error { // readAhead names its errors
		return t.readAhead(br, r, guarded, certGen != t.certGen, recordGen != t.recordGen)
	})
	return nil
}

// prefetchRecordsSQL reads the records of the kinds and IDs paired in $1
// and $2 (each looked up by its key).
const prefetchRecordsSQL = "SELECT r.kind, r.id, r.value FROM unnest($1::text[], $2::text[]) AS k(kind, id) " +
	"JOIN records r ON r.kind = k.kind AND r.id = k.id ORDER BY r.kind, r.id"

// readAhead reads the results of Prefetch's statements for r into
// t.ahead (guarded: with the revocation guard's ahead of the
// certificates'). What a write made before the results arrived changes
// (staleCerts, staleRecords) is read but not kept.
func (t *tx) readAhead(br pgx.BatchResults, r store.ReadAhead, guarded, staleCerts, staleRecords bool) error {
	ahead := &readAhead{users: map[string]*store.User{}, parties: map[string]*store.Party{},
		officers: map[string]*store.Officer{}, byKey: map[string][]store.Certificate{}, certs: map[string]*store.Certificate{},
		records: map[store.RecordKey]*[]byte{}}
	read := func(scan func(pgx.Rows) error) error {
		rows, err := br.Query()
		if err != nil {
			return t.fail("prefetch", err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return t.fail("prefetch", err)
			}
		}
		if err := rows.Err(); err != nil {
			return t.fail("prefetch", err)
		}
		return nil
	}
	if len(r.Users) > 0 {
		if err := read(func(rows pgx.Rows) error {
			var u store.User
			var uat string
			var pid, pname, pstatus, pat *string
			if err := rows.Scan(&u.ID, &u.PartyID, &u.Role, &u.Name, &u.Status, &uat, &pid, &pname, &pstatus, &pat); err != nil {
				return err
			}
			if err := times(&uat, &u.CreatedAt); err != nil {
				return err
			}
			ahead.users[u.ID] = &u
			if pid == nil {
				ahead.parties[u.PartyID] = nil // the outer join: no party row
				return nil
			}
			p := store.Party{ID: *pid, Name: *pname, Status: *pstatus}
			if err := times(pat, &p.CreatedAt); err != nil {
				return err
			}
			ahead.parties[p.ID] = &p
			return nil
		}); err != nil {
			return err
		}
		if !t.writable {
			for _, id := range r.Users {
				if _, ok := ahead.users[id]; !ok {
					ahead.users[id] = nil
				}
			}
		}
	}
	if len(r.Officers) > 0 {
		if err := read(func(rows pgx.Rows) error {
			var o store.Officer
			if err := scanOfficer(rows, &o); err != nil {
				return err
			}
			ahead.officers[o.ID] = &o
			return nil
		}); err != nil {
			return err
		}
		absentOf(ahead.officers, r.Officers)
	}
	for _, kh := range r.KeyHashes {
		cs := []store.Certificate{}
		if err := read(func(rows pgx.Rows) error {
			var c store.Certificate
			if err := scanCert(rows, &c); err != nil {
				return err
			}
			cs = append(cs, c)
			return nil
		}); err != nil {
			return err
		}
		ahead.byKey[kh] = cs
	}
	if len(r.Records) > 0 {
		if err := read(func(rows pgx.Rows) error {
			var k store.RecordKey
			var v []byte
			if err := rows.Scan(&k.Kind, &k.ID, &v); err != nil {
				return err
			}
			if v == nil {
				v = []byte{}
			}
			ahead.records[k] = &v
			return nil
		}); err != nil {
			return err
		}
		absentOf(ahead.records, r.Records)
	}
	if guarded {
		if _, err := br.Exec(); err != nil {
			return t.fail("revocation guard", err)
		}
	}
	if len(r.Certificates) > 0 {
		if err := read(func(rows pgx.Rows) error {
			var c store.Certificate
			if err := scanCert(rows, &c); err != nil {
				return err
			}
			ahead.certs[c.Serial] = &c
			return nil
		}); err != nil {
			return err
		}
		absentOf(ahead.certs, r.Certificates)
	}
	if staleCerts {
		ahead.byKey, ahead.certs = nil, nil
	}
	if staleRecords {
		ahead.records = nil
	}
	t.ahead = ahead
	return nil
}

// absentOf records as absent (nil) every key of asked that m has no row
// for.
func absentOf[K comparable, T any](m map[K]*T, asked []K) {
	for _, k := range asked {
		if _, ok := m[k]; !ok {
			m[k] = nil
		}
	}
}
