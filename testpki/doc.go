// Package testpki builds, in one call (Build, or `smki testpki --out DIR
// [--at T]`), a complete, realistic test PKI and SoLR scenario through the
// real CA, for the tests of teams that embed the verifier, for demos and
// for benchmarks. docs/testpki.md lists every file it writes. It writes:
//
//   - trust/: the root and issuing CA, both CRLs and bundle.json, a whole
//     trust directory a verifier loads alone (verifier.LoadTrust); the
//     bundle, also at bundle.json beside it, is RA-signed (supplier-a
//     failed and revoked, an active SoLR event naming srp-sc-xml, the
//     device registry);
//   - users/NAME/: each scenario user's key and certificate (Users);
//   - devices.csv: the device registry (Devices);
//   - feed-page.json: a page of the RA's revocation feed, signed as the RA
//     signs one, that revokes FeedRevokedUser after the bundle (FeedPage);
//   - requests/ and cases.json: signed DUIS Service Requests, valid and
//     invalid, with the verdict the verifier must give each (Cases);
//   - ca/ and ra/: the CA's store and keys, and the RA's bundle signer, for
//     tests that issue or sign more.
//
// What a build writes is the same for a given At but for the bytes of keys,
// certificates, CRLs and signatures, which are fresh each time (the CA's
// serials are random, as RFC 5280 and SMKI ask, and Go's crypto takes no
// seed): keep cases.json, devices.csv and the file names as golden files,
// never a certificate or a signed request.
//
// It also owns the DUIS request builder (Request) its cases and the demo
// sign, and the builder of the GBCS SR 1.6 command (GBCSCommand) a
// Supplier signs for a Command Variant 5 request. It decides nothing:
// every verdict is the verifier's.
package testpki
