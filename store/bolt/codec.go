package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/smki/smki/store"
)

// The compact record encoding of certificates and revocations, the two
// record kinds a bulk revocation reads and writes 100,000 of at a time
// (JSON took most of its CPU), and of issuance intents, which every
// issuance writes, reads and rewrites on the single writer (their JSON,
// with the lint certificate in base64, cost more of its time than the
// certificate record), and of parties, users and officers, which every
// enrolment reads (officer, user and party in its checks, user and party
// again on the writer when its certificate is recorded). A compact record starts with its format
// byte; JSON records written before it start with '{' and are still read
// as they are, so a file written by an older smki opens unchanged and its
// records are rewritten compact only when they next change. A file with
// compact records cannot be opened by an smki that predates them.
//
// Layout, after the format byte: the string fields' lengths (uvarint),
// their bytes back to back, then the times (seconds since the Unix epoch
// as a varint and nanoseconds as a uvarint, so the zero time round-trips),
// then the integers (uvarint, the reason a varint), then the DER
// (uvarint length, bytes). Times decode in UTC, as every stored time is.
const (
	fmtCert       = 0x01
	fmtRevocation = 0x02
	fmtIntent     = 0x03
	fmtParty      = 0x04
	fmtUser       = 0x05
	fmtOfficer    = 0x06
)

// errShort is a compact record that ends before its last field.
var errShort = errors.New("compact record ends early")

func appendTime(dst []byte, t time.Time) []byte {
	dst = binary.AppendVarint(dst, t.Unix())
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

// newRecord starts a compact record: the format byte, the strings'
// lengths and bytes, and room for rest more bytes.
func newRecord(format byte, rest int, strs ...string) []byte {
	n := 1 + len(strs)*2 + rest
	for _, s := range strs {
		n += len(s)
	}
	b := make([]byte, 0, n)
	b = append(b, format)
	for _, s := range strs {
		b = binary.AppendUvarint(b, uint64(len(s)))
	}
	for _, s := range strs {
		b = append(b, s...)
	}
	return b
}

func encodeCert(c *store.Certificate) []byte {
	b := newRecord(fmtCert, 4*12+4*10+len(c.DER)+4,
		c.Serial, c.Issuer, c.UserID, c.PartyID, c.Profile, c.Role, c.KeyHash, string(c.Status))
	for _, t := range [...]time.Time{c.NotBefore, c.NotAfter, c.IssuedAt, c.RevokedAt} {
		b = appendTime(b, t)
	}
	b = binary.AppendVarint(b, int64(c.Reason))
	b = binary.AppendUvarint(b, c.RevocationSeq)
	b = binary.AppendUvarint(b, c.IssuanceSeq)
	b = binary.AppendUvarint(b, uint64(len(c.DER)))
	return append(b, c.DER...)
}

func encodeRevocation(r *store.Revocation) []byte {
	b := newRecord(fmtRevocation, 12+10+10, r.Serial, r.Issuer, r.UserID, r.PartyID)
	b = appendTime(b, r.RevokedAt)
	b = binary.AppendVarint(b, int64(r.Reason))
	return binary.AppendUvarint(b, r.Seq)
}

func encodeIntent(in *store.Intent) []byte {
	b := newRecord(fmtIntent, 12+len(in.LintDER)+4, in.Serial, in.Issuer, in.Profile, in.UserID, string(in.State))
	b = appendTime(b, in.CreatedAt)
	b = binary.AppendUvarint(b, uint64(len(in.LintDER)))
	return append(b, in.LintDER...)
}

func encodeParty(p *store.Party) []byte {
	return appendTime(newRecord(fmtParty, 12, p.ID, p.Name, p.Status), p.CreatedAt)
}

func encodeUser(u *store.User) []byte {
	return appendTime(newRecord(fmtUser, 12, u.ID, u.PartyID, u.Role, u.Name, u.Status), u.CreatedAt)
}

func encodeOfficer(o *store.Officer) []byte {
	b := newRecord(fmtOfficer, 24, o.ID, o.Name, o.PartyID, o.Kind, o.CertSerial, o.Status, o.AppointedBy)
	return appendTime(appendTime(b, o.CertNotAfter), o.CreatedAt)
}

// end fails if the record had a failure or bytes after its last field:
// ErrCorrupt, naming what the record is.
func (r *reader) end(what string) error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d bytes after the last field", len(r.b))
	}
	if r.err != nil {
		return fmt.Errorf("decode %s: %v: %w", what, r.err, store.ErrCorrupt)
	}
	return nil
}

// reader walks a compact record; the first failure sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 { return readVarint(r, binary.Uvarint) }
func (r *reader) varint() int64   { return readVarint(r, binary.Varint) }

// readVarint reads one number with read (binary.Uvarint or Varint).
func readVarint[T uint64 | int64](r *reader, read func([]byte) (T, int)) T {
	if r.err != nil {
		return 0
	}
	v, n := read(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errShort
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) time() time.Time {
	s, ns := r.varint(), r.uvarint()
	if r.err != nil || ns >= 1e9 {
		if r.err == nil {
			r.err = errors.New("nanoseconds out of range")
		}
		return time.Time{}
	}
	return time.Unix(s, int64(ns)).UTC()
}

// strings reads len(dst) lengths and then the strings, which share one
// allocation (a record's strings live and die together).
func (r *reader) strings(dst []*string) {
	var lens [8]uint64
	var total uint64
	for i := range dst {
		lens[i] = r.uvarint()
		// Each length, and so their sum, is at most what the record
		// holds: a corrupt length must not wrap the sum around.
		if r.err == nil && lens[i] > uint64(len(r.b)) {
			r.err = errShort
		}
		total += lens[i]
	}
	all := string(r.bytes(total))
	if r.err != nil {
		return
	}
	off := uint64(0)
	for i, p := range dst {
		*p = all[off : off+lens[i]]
		off += lens[i]
	}
}

func decodeCert(data []byte, c *store.Certificate) error {
	r := reader{b: data[1:]}
	var status string
	r.strings([]*string{&c.Serial, &c.Issuer, &c.UserID, &c.PartyID, &c.Profile, &c.Role, &c.KeyHash, &status})
	c.Status = store.CertStatus(status)
	c.NotBefore, c.NotAfter, c.IssuedAt, c.RevokedAt = r.time(), r.time(), r.time(), r.time()
	c.Reason = int(r.varint())
	c.RevocationSeq = r.uvarint()
	c.IssuanceSeq = r.uvarint()
	der := r.bytes(r.uvarint())
	if err := r.end("certificate"); err != nil {
		return err
	}
	c.DER = append([]byte(nil), der...)
	return nil
}

// certFields are a compact certificate record's filter fields, in place.
type certFields struct {
	issuer, userID, partyID, role, status []byte
}

// certFilterFields reads the filter fields of a compact certificate record
// without copying or allocating; ok is false if data is not one or ends
// within its strings (decodeCert says why).
func certFilterFields(data []byte) (f certFields, ok bool) {
	if len(data) == 0 || data[0] != fmtCert {
		return f, false
	}
	r := reader{b: data[1:]}
	var lens [8]uint64 // Serial, Issuer, UserID, PartyID, Profile, Role, KeyHash, Status
	var total uint64
	for i := range lens {
		if lens[i] = r.uvarint(); lens[i] > uint64(len(data)) {
			return f, false
		}
		total += lens[i]
	}
	all := r.bytes(total)
	if r.err != nil {
		return f, false
	}
	var off uint64
	var s [8][]byte
	for i, n := range lens {
		s[i] = all[off : off+n]
		off += n
	}
	return certFields{issuer: s[1], userID: s[2], partyID: s[3], role: s[5], status: s[7]}, true
}

func decodeRevocation(data []byte, rv *store.Revocation) error {
	r := reader{b: data[1:]}
	r.strings([]*string{&rv.Serial, &rv.Issuer, &rv.UserID, &rv.PartyID})
	rv.RevokedAt = r.time()
	rv.Reason = int(r.varint())
	rv.Seq = r.uvarint()
	if err := r.end("revocation"); err != nil {
		return err
	}
	return nil
}

func decodeIntent(data []byte, in *store.Intent) error {
	r := reader{b: data[1:]}
	var state string
	r.strings([]*string{&in.Serial, &in.Issuer, &in.Profile, &in.UserID, &state})
	in.State = store.IntentState(state)
	in.CreatedAt = r.time()
	der := r.bytes(r.uvarint())
	if err := r.end("intent"); err != nil {
		return err
	}
	in.LintDER = append([]byte(nil), der...)
	return nil
}

func decodeParty(data []byte, p *store.Party) error {
	r := reader{b: data[1:]}
	r.strings([]*string{&p.ID, &p.Name, &p.Status})
	p.CreatedAt = r.time()
	return r.end("party")
}

func decodeUser(data []byte, u *store.User) error {
	r := reader{b: data[1:]}
	r.strings([]*string{&u.ID, &u.PartyID, &u.Role, &u.Name, &u.Status})
	u.CreatedAt = r.time()
	return r.end("user")
}

func decodeOfficer(data []byte, o *store.Officer) error {
	r := reader{b: data[1:]}
	r.strings([]*string{&o.ID, &o.Name, &o.PartyID, &o.Kind, &o.CertSerial, &o.Status, &o.AppointedBy})
	o.CertNotAfter, o.CreatedAt = r.time(), r.time()
	return r.end("officer")
}

// issuanceSeqOf reads a certificate record's IssuanceSeq without copying
// its DER (a compact record), or by decoding it (JSON).
func issuanceSeqOf(data []byte) (uint64, error) {
	if len(data) == 0 || data[0] != fmtCert {
		var c store.Certificate
		err := decode(data, &c)
		return c.IssuanceSeq, err
	}
	r := reader{b: data[1:]}
	var total uint64
	for range 8 { // Serial, Issuer, UserID, PartyID, Profile, Role, KeyHash, Status
		n := r.uvarint()
		if n > uint64(len(data)) {
			r.err = errShort
		}
		total += n
	}
	r.bytes(total)
	for range 4 { // NotBefore, NotAfter, IssuedAt, RevokedAt
		r.time()
	}
	r.varint()  // Reason
	r.uvarint() // RevocationSeq
	seq := r.uvarint()
	if r.err != nil {
		return 0, fmt.Errorf("decode certificate: %v: %w", r.err, store.ErrCorrupt)
	}
	return seq, nil
}
