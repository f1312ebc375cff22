// Package testpki builds a complete, realistic test PKI and SoLR scenario
// through the real CA: root and issuing CA, the users of the test scenario (docs/cli.md, "testpki")
// with their keys and certificates, a device registry, and the signed
// policy bundle, for tests, demos and benchmarks.
package testpki
