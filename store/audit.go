package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"
)

// HashAudit returns the chain hash of e: SHA-256 over a length-prefixed
// encoding of every field but Hash, including PrevHash, so that editing,
// removing or reordering any stored entry breaks every later link. Time is
// hashed at nanosecond precision in UTC; engines must store it losslessly.
//
// Seq is not in fact bound: field writes its length prefix into n, the
// buffer holding Seq, before hashing n, so every entry hashes the value 8
// in Seq's place. Renumbering is caught by VerifyChain's Seq order and the
// PrevHash links instead. Changing this changes every stored hash and
// signed checkpoint, so it needs a versioned encoding; store/audit_test.go
// pins the encoding as it is.
func HashAudit(e AuditEntry) []byte {
	h := sha256.New()
	var n [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	binary.BigEndian.PutUint64(n[:], e.Seq)
	field(n[:])
	field([]byte(e.Time.UTC().Format(time.RFC3339Nano)))
	field([]byte(e.Actor))
	field([]byte(e.Action))
	field([]byte(e.Subject))
	field([]byte(e.Result))
	field([]byte(e.Detail))
	field(e.PrevHash)
	return h.Sum(nil)
}

// ChainError names the first audit entry whose link is broken.
type ChainError struct {
	Seq    uint64
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("E_AUDIT_CHAIN_BROKEN: entry %d: %s", e.Seq, e.Reason)
}

// VerifyChain checks that entries (consecutive, starting at from) link to
// prev, the hash of entry from-1 (nil when from is 1). It returns the hash
// of the last entry, or a *ChainError naming the first broken link.
func VerifyChain(prev []byte, from uint64, entries []AuditEntry) ([]byte, error) {
	want := from
	for _, e := range entries {
		if e.Seq != want {
			return nil, &ChainError{Seq: want, Reason: fmt.Sprintf("missing (next stored entry is %d)", e.Seq)}
		}
		if !bytes.Equal(e.PrevHash, prev) {
			return nil, &ChainError{Seq: e.Seq, Reason: "previous-hash link does not match"}
		}
		if !bytes.Equal(HashAudit(e), e.Hash) {
			return nil, &ChainError{Seq: e.Seq, Reason: "content does not match its hash"}
		}
		prev = e.Hash
		want++
	}
	return prev, nil
}
