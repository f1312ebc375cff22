// Package solr owns the Supplier of Last Resort workflow (docs/api.md, "SoLR events"):
// declaring an event on the Authority's instruction with the dry run of
// its revocation, the four-eyes approval that fails the Supplier's party
// and revokes its certificates (now: a small cut-off transaction with the
// party-wide revocation, then the certificates as a job the approval runs
// at once; or later by the scheduler, RunDue), closing it, and reading it.
//
// Every step is an audited decision of ra: ra binds a Session to the
// authenticated officer, and each step runs inside one of its
// transactions with its audit record; who may take it is ra/authz's
// table. This package never authenticates anyone, knows no transport, and
// must not import ra; ra.Service keeps the entry points (DeclareSoLR,
// ApproveSoLR, RunDue, ...).
package solr
