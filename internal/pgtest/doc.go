// Package pgtest gives tests a PostgreSQL schema of their own: from
// SMKI_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/test),
// created fresh and dropped at cleanup. Without a reachable server the
// test is skipped with a message saying plainly that the PostgreSQL half
// did NOT run, unless SMKI_REQUIRE_POSTGRES=1 (CI), when it fails.
// RoundTrips counts a test's round trips to the server, for the tests
// that pin how many a path makes.
package pgtest
