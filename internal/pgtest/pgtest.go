package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smki/smki/internal/need"
)

// DefaultURL is the server tests use when SMKI_TEST_POSTGRES is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// BaseURL returns SMKI_TEST_POSTGRES or DefaultURL.
func BaseURL() string {
	if u := os.Getenv("SMKI_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultURL
}

// SchemaURL creates a uniquely named schema, drops it (CASCADE) at
// cleanup, and returns a connection string whose search_path selects it,
// for in-process stores and smki processes alike.
func SchemaURL(t testing.TB) string {
	t.Helper()
	base := BaseURL()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		need.Unavailable(t, "PostgreSQL", "the PostgreSQL half did NOT run: "+err.Error()+" (set SMKI_TEST_POSTGRES)",
			os.Getenv("SMKI_REQUIRE_POSTGRES") == "1")
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "smki_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
