package bolt

import bbolt "go.etcd.io/bbolt"

// DBStats is the bbolt file's statistics, for benchmarks.
func DBStats(s *Store) bbolt.Stats { return s.db.Stats() }
