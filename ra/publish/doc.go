// Package publish turns the RA's committed state into what verifiers
// read: the signed policy bundle (docs/bundle.md), with its conditional
// refresh (ETag), and the signed revocation feed, whose requests it holds
// until a revocation or party-status change commits (ra/internal/feedhub).
// Both are built from one read transaction each, in the format of package
// bundle, and signed by the RA's system signer.
//
// It decides nothing: whether an officer may read the bundle or the feed
// is ra's decision (ra authorises and audits, then calls a Publisher), and
// it writes nothing but what the store's audit sealing needs. It must not
// import ra, ra/raserver or any transport.
package publish
