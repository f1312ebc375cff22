// Package reprobuild holds no code: its test builds the release binary
// (make dist, linux/amd64) twice, from two copies of the tree in
// directories of different names and lengths, and requires the same
// bytes, so that anyone can rebuild a release from its commit and check
// SHA256SUMS (issue 14).
package reprobuild
