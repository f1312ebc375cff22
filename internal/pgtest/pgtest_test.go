package pgtest

import "testing"

// TestServerReachable is the one line `make test` prints about the
// PostgreSQL half: it skips with "PostgreSQL half did NOT run: ..." when
// no server answers (fails under SMKI_REQUIRE_POSTGRES=1).
func TestServerReachable(t *testing.T) {
	SchemaURL(t)
	t.Logf("PostgreSQL half ran against %s", BaseURL())
}
