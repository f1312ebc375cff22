// Package ratest owns the test fixtures for the RA and its servers: the
// settable clock and its start instant, an in-memory key store for the
// RA's own keys, the PKI an RA stands on (store, CA, access CA) built in a
// temp dir, the CSRs a client would send (well-formed, or hostile ones
// without eligibility's checks), parsing the certificates the RA returns,
// checking an issued certificate's shape against its role and profile, and
// reading the audit log back. The tests of ra, ra/raserver and console use
// the same fixtures, so a scenario means the same thing in each.
//
// It builds nothing that needs the RA itself: ra's own tests are in
// package ra and import this package, so it must not import ra (nor
// ra/raserver or console; internal/layering holds this): the ra.Service
// and its actors are built by each package's env on top of a PKI. Every
// helper that can fail takes a testing.TB and fails the test; none is for
// production code, and no product imports the package.
package ratest
