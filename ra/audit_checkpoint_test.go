package ra

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/ra/auditcheck"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/ra/records"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// rewriteStore serves a rewritten audit log: what an attacker with write
// access to the database leaves after editing entries and recomputing
// every later hash, so that the chain itself still verifies.
type rewriteStore struct {
	store.Store
	entries []store.AuditEntry
}

func (s rewriteStore) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.View(ctx, func(tx store.Tx) error { return fn(rewriteTx{tx, s.entries}) })
}

type rewriteTx struct {
	store.Tx
	entries []store.AuditEntry
}

func (t rewriteTx) AuditEntries(from uint64, limit int) ([]store.AuditEntry, error) {
	var out []store.AuditEntry
	for _, e := range t.entries {
		if e.Seq >= from && (limit == 0 || len(out) < limit) {
			out = append(out, e)
		}
	}
	return out, nil
}

// rewriteChain returns entries with edit applied from entry from on (edit
// may drop an entry by returning false) and every link and hash from
// there recomputed, as HashAudit defines them.
func rewriteChain(entries []store.AuditEntry, from uint64, edit func(*store.AuditEntry) bool) []store.AuditEntry {
	var out []store.AuditEntry
	var prev []byte
	for _, e := range entries {
		if e.Seq >= from {
			if !edit(&e) {
				continue
			}
			e.Seq = uint64(len(out)) + 1
			e.PrevHash = prev
			e.Hash = store.HashAudit(e)
		}
		out = append(out, e)
		prev = e.Hash
	}
	return out
}

func TestAuditCheckpoint(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	s.withSigner()
	ctx := context.Background()

	data, err := s.svc.ExportBundle(ctx, s.admin)
	if err != nil {
		t.Fatal(err)
	}
	exportEntry := ratest.AuditTail(s.t, s.st, 1)[0]
	if exportEntry.Action != string(ActReadBundle) {
		t.Fatalf("last entry %+v, want the bundle read", exportEntry)
	}
	// More audited actions after the export.
	p := s.party("90-B3-D5-1F-30-00-00-09", "Later Party")
	s.user("90-B3-D5-1F-30-01-00-09", p, role.ImportSupplier)

	cp, err := auditcheck.OpenCheckpoint("b.json", data, s.roots(), s.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The bundle's head is the last entry committed when it was built: its
	// own export record.
	if cp.Seq != exportEntry.Seq || hex.EncodeToString(cp.Hash) != hex.EncodeToString(exportEntry.Hash) || !cp.IssuedAt.Equal(s.clock.Now()) {
		t.Fatalf("checkpoint %+v, want entry %d %x", cp, exportEntry.Seq, exportEntry.Hash)
	}
	if rs, err := auditcheck.CheckAuditCheckpoints(ctx, s.st, []auditcheck.Checkpoint{cp}); err != nil || len(rs) != 1 || !rs[0].OK {
		t.Fatalf("untouched chain: %+v %v", rs, err)
	}

	var all []store.AuditEntry
	if err := s.st.View(ctx, func(tx store.Tx) error { all, err = tx.AuditEntries(1, 0); return err }); err != nil {
		t.Fatal(err)
	}
	last := all[len(all)-1].Seq
	if last <= cp.Seq+1 {
		t.Fatalf("want entries after the checkpoint: last %d checkpoint %d", last, cp.Seq)
	}
	tests := []struct {
		name     string
		from     uint64
		edit     func(*store.AuditEntry) bool
		wantFail bool
	}{
		{"entry rewritten before the checkpoint", 3, func(e *store.AuditEntry) bool {
			if e.Seq == 3 {
				e.Result, e.Actor = "allowed", "someone-else"
			}
			return true
		}, true},
		{"entry dropped before the checkpoint", 2, func(e *store.AuditEntry) bool { return e.Seq != 2 }, true},
		{"rewrite starting at the checkpoint itself", cp.Seq, func(e *store.AuditEntry) bool {
			if e.Seq == cp.Seq {
				e.Detail += " edited"
			}
			return true
		}, true},
		{"chain truncated before the checkpoint", cp.Seq - 1, func(*store.AuditEntry) bool { return false }, true},
		// The checkpoint vouches for entries up to its seq only: a later
		// rewrite needs a later checkpoint.
		{"rewrite after the checkpoint", cp.Seq + 1, func(e *store.AuditEntry) bool {
			e.Actor = "someone-else"
			return true
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forged := rewriteStore{Store: s.st, entries: rewriteChain(all, tc.from, tc.edit)}
			// The plain walk cannot tell.
			if rep, err := WalkAudit(ctx, forged); err != nil {
				t.Fatalf("walk of the consistent rewrite: %+v %v", rep, err)
			}
			rs, err := auditcheck.CheckAuditCheckpoints(ctx, forged, []auditcheck.Checkpoint{cp})
			if !tc.wantFail {
				if err != nil || !rs[0].OK {
					t.Fatalf("got %+v %v", rs, err)
				}
				return
			}
			if !errors.Is(err, auditcheck.ErrAuditCheckpoint) || rs[0].OK {
				t.Fatalf("checkpoint passed a rewritten chain: %+v %v", rs, err)
			}
			msg := err.Error()
			for _, want := range []string{"E_AUDIT_CHECKPOINT", "checkpoint b.json", fmt.Sprintf("entry %d hash", cp.Seq),
				"the bundle signed at " + cp.IssuedAt.UTC().Format(time.RFC3339Nano), "says " + hex.EncodeToString(cp.Hash)} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			if rs[0].Error != msg {
				t.Errorf("result error %q, returned %q", rs[0].Error, msg)
			}
		})
	}
}

// TestOpenCheckpointRefusesForgeries: a checkpoint that is not a bundle
// signed by the RA's OU=89 signer under the trusted root is refused, coded,
// and never yields a Checkpoint that could pass.
func TestOpenCheckpointRefusesForgeries(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	sig := s.withSigner()
	ctx := context.Background()
	now := s.clock.Now()
	good, err := s.svc.ExportBundle(ctx, s.admin)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.svc.BuildBundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	forgedHead := &bundle.AuditHead{Seq: b.AuditHead.Seq, Hash: strings.Repeat("ab", 32)}

	// A user's xml-signing certificate chains to the root but is not
	// OU=89: it may not sign policy.
	userKey := ratest.NewKey(t)
	is, err := s.svc.Enrol(ctx, s.aroSup, EnrolRequest{UserID: s.userIS, Profile: ca.XMLSigning,
		CSR: ratest.CSR(t, userKey, s.userIS, role.ImportSupplier, ca.XMLSigning), Mode: ModeEnrol})
	if err != nil {
		t.Fatal(err)
	}
	userCert := ratest.ParseCert(t, is.CertPEM)
	selfKey, selfChain := selfMadeSigner(t, now)

	sign := func(edit func(*bundle.Bundle), key *ecdsa.PrivateKey, chain []*x509.Certificate) []byte {
		t.Helper()
		c := *b
		edit(&c)
		var data []byte
		var err error
		if key == nil {
			data, err = sig.SignBundle(&c)
		} else {
			data, err = bundle.Sign(&c, key, chain)
		}
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	forgeHead := func(c *bundle.Bundle) { c.AuditHead = forgedHead }
	signerExpiry := sig.Chain()[0].NotAfter

	tests := []struct {
		name  string
		data  []byte
		now   time.Time
		cause error // the verifier code wrapped, if any
	}{
		{"genuine", good, now, nil},
		// A checkpoint is judged at its own issued_at: it still opens once
		// its signer has expired (the verifier, judging at now, refuses).
		{"genuine, signer since expired", good, signerExpiry.Add(24 * time.Hour), nil},
		{"payload edited after signing", tamperPayload(t, good), now, bundle.ErrEnvelopeSignature},
		{"signed by a user's xml-signing key", sign(forgeHead, userKey, []*x509.Certificate{userCert, s.ca.Issuing()}), now, bundle.ErrEnvelopeSigner},
		{"OU=89 signer under another root", sign(forgeHead, selfKey, selfChain), now, bundle.ErrEnvelopeSigner},
		{"no audit_head", sign(func(c *bundle.Bundle) { c.AuditHead = nil }, nil, nil), now, nil},
		{"malformed hash", sign(func(c *bundle.Bundle) { c.AuditHead = &bundle.AuditHead{Seq: 1, Hash: "zz"} }, nil, nil), now, nil},
		{"seq 0", sign(func(c *bundle.Bundle) { c.AuditHead = &bundle.AuditHead{Hash: forgedHead.Hash} }, nil, nil), now, nil},
		{"signed in the future", sign(func(c *bundle.Bundle) { c.IssuedAt = now.Add(time.Hour) }, nil, nil), now, nil},
		{"not a bundle", []byte(`{"format":"smki-feed/1"}`), now, bundle.ErrEnvelopeFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cp, err := auditcheck.OpenCheckpoint("cp.json", tc.data, s.roots(), tc.now)
			if strings.HasPrefix(tc.name, "genuine") {
				if err != nil {
					t.Fatalf("genuine checkpoint refused: %v", err)
				}
				if rs, err := auditcheck.CheckAuditCheckpoints(ctx, s.st, []auditcheck.Checkpoint{cp}); err != nil || !rs[0].OK {
					t.Fatalf("genuine checkpoint: %+v %v", rs, err)
				}
				return
			}
			if !errors.Is(err, auditcheck.ErrCheckpointInvalid) || !strings.Contains(err.Error(), "checkpoint cp.json") {
				t.Fatalf("forged checkpoint: %+v %v", cp, err)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Fatalf("error %v does not wrap %v", err, tc.cause)
			}
			if cp.Seq != 0 || cp.Hash != nil {
				t.Fatalf("a refused checkpoint returned %+v", cp)
			}
		})
	}
	// The expired-signer case above is meaningful only if the verifier's
	// own check at that time refuses it.
	if _, err := bundle.Open(good, s.roots(), signerExpiry.Add(24*time.Hour)); !errors.Is(err, bundle.ErrEnvelopeSigner) {
		t.Fatalf("bundle opened after its signer expired: %v", err)
	}
}

// tamperPayload changes one hex digit of the audit_head hash inside a
// signed envelope, leaving the signature as it was.
func tamperPayload(t *testing.T, data []byte) []byte {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	s, _ := env["payload"].(string)
	payload, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(payload), `"audit_head":{"seq":`)
	j := strings.Index(string(payload[i:]), `"hash":"`) + i + len(`"hash":"`)
	if i < 0 || j < i {
		t.Fatalf("no audit_head in %s", payload)
	}
	if payload[j] == '0' {
		payload[j] = '1'
	} else {
		payload[j] = '0'
	}
	env["payload"] = payload
	out, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// selfMadeSigner is an OU=89 signer with every property the verifier wants
// except chaining to the SMKI root.
func selfMadeSigner(t *testing.T, now time.Time) (*ecdsa.PrivateKey, []*x509.Certificate) {
	t.Helper()
	rootKey, key := ratest.NewKey(t), ratest.NewKey(t)
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "not the SMKI root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(rootDER)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2),
		Subject:   pkix.Name{CommonName: "forger", OrganizationalUnit: []string{role.RPDSPXMLSign.OU()}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, root, &key.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)
	return key, []*x509.Certificate{leaf, root}
}

// TestLastAuditEntry: the head is found whatever the log's length or gaps,
// in O(log n) lookups.
func TestLastAuditEntry(t *testing.T) {
	t.Parallel()
	seqs := func(ns ...uint64) []store.AuditEntry {
		var es []store.AuditEntry
		for _, n := range ns {
			es = append(es, store.AuditEntry{Seq: n, Hash: []byte{byte(n)}})
		}
		return es
	}
	upTo := func(n uint64) []store.AuditEntry {
		var ns []uint64
		for i := uint64(1); i <= n; i++ {
			ns = append(ns, i)
		}
		return seqs(ns...)
	}
	tests := []struct {
		name    string
		entries []store.AuditEntry
	}{
		{"empty", nil},
		{"one", upTo(1)},
		{"two", upTo(2)},
		{"three", upTo(3)},
		{"power of two", upTo(1024)},
		{"power of two plus one", upTo(1025)},
		{"odd length", upTo(777)},
		{"gaps", seqs(1, 2, 5, 9, 10, 40)},
		{"first entry missing", seqs(3, 4, 17)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tx := &countingTx{rewriteTx: rewriteTx{entries: tc.entries}}
			got, ok, err := records.LastAuditEntry(tx)
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.entries) == 0 {
				if ok {
					t.Fatalf("empty log has head %+v", got)
				}
				return
			}
			want := tc.entries[len(tc.entries)-1]
			if !ok || got.Seq != want.Seq || got.Hash[0] != want.Hash[0] {
				t.Fatalf("head %+v %v, want seq %d", got, ok, want.Seq)
			}
			// Gallop then bisect: about 2*log2(n) probes, plus the first.
			if limit := 2*bitLen(want.Seq) + 2; tx.probes > limit {
				t.Fatalf("%d probes for %d entries, limit %d", tx.probes, len(tc.entries), limit)
			}
		})
	}
}

type countingTx struct {
	rewriteTx
	probes int
}

func (t *countingTx) AuditEntries(from uint64, limit int) ([]store.AuditEntry, error) {
	t.probes++
	return t.rewriteTx.AuditEntries(from, limit)
}

func bitLen(n uint64) int { return big.NewInt(0).SetUint64(n).BitLen() }

// BenchmarkLastAuditEntry measures finding the audit head, which every
// bundle export now does, on a real bbolt log of 50,000 entries against an
// in-run baseline: reading one page of auditPage entries (what a single
// WalkAudit step costs). It reports the ratio (x-page); the head lookup
// must stay far below 1, whatever the log's length.
func BenchmarkLastAuditEntry(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	at := e.clock.Now()
	if err := e.st.Update(ctx, func(tx store.Tx) error {
		for i := range 50000 {
			if _, err := tx.AppendAudit(store.AuditEntry{Time: at, Actor: "bench", Action: "bench", Detail: fmt.Sprint(i)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	var base time.Duration
	b.Run("baseline-page", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			if err := e.st.View(ctx, func(tx store.Tx) error { _, err := tx.AuditEntries(1, auditPage); return err }); err != nil {
				b.Fatal(err)
			}
		}
		base = time.Since(start) / time.Duration(b.N)
	})
	b.Run("head", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			if err := e.st.View(ctx, func(tx store.Tx) error {
				_, ok, err := records.LastAuditEntry(tx)
				if err == nil && !ok {
					err = errors.New("no head")
				}
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
		if full := time.Since(start) / time.Duration(b.N); base > 0 {
			b.ReportMetric(float64(full)/float64(base), "x-page")
		}
	})
}
