// Package feedhub holds the revocation feed's long polls: a Hub counts
// the held requests, wakes them when this process commits a revocation or
// a party-status change (Store wraps the RA's store to see its
// revocations) and, while any is held, polls the store once per process
// for changes committed by other instances.
//
// It is plumbing: it decides nothing about who may read the feed or what a
// page holds (ra authorises, ra/publish builds and signs the page), and it
// must not import ra.
package feedhub
