// Package democmd holds the verbs for trying smki without production
// data: smki testpki (a complete test PKI and SoLR scenario, package
// testpki) and smki demo (the night a Supplier fails, end to end, package
// demo). It owns only their flags and output.
package democmd
