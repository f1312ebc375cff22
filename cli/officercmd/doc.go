// Package officercmd holds the verbs of officers and their credentials:
// smki officer add, keygen, export (PKCS#12 for a browser), renew,
// reissue, list and remove, and smki console open (a login link for the
// console). It owns their flags, where a credential is written (safely,
// for renew) and their output; who may appoint whom is the RA's decision.
package officercmd
