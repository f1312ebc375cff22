// Package cacmd holds the verbs that operate the CA hierarchy on the
// machine that holds its keys: smki ca init, ca arl (the Root OCA key
// ceremony) and ca import-arl (the online side). It owns their flags and
// the CA key passphrase flags smki serve shares; what is issued and how is
// signed is decided by package ca.
package cacmd
