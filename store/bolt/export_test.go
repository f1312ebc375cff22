package bolt

import bbolt "go.etcd.io/bbolt"

// DBStats is the bbolt file's statistics, for benchmarks.
func DBStats(s *Store) bbolt.Stats { return s.db.Stats() }

// DecodeRecord decodes a stored record (codec.go), for tests that read
// the file directly.
func DecodeRecord(data []byte, v any) error { return decode(data, v) }

// SeqKey and SeqFromKey are the issuance and audit sequence keys.
func SeqKey(n uint64) []byte { return seqKey(n) }

func SeqFromKey(k []byte) uint64 {
	n, _ := seqFromKey(k)
	return n
}

// EncodeRecord encodes a record as the store writes it, for tests that
// write the file directly.
func EncodeRecord(v any) ([]byte, error) { return encode(v) }

// WithIntentMoveBatch sets how many intents one of Open's moves of
// completed intents carries (moveCompletedIntents); 0: none is moved.
func WithIntentMoveBatch(n int) Option { return func(c *config) { c.moveBatch = n } }
