// Package storecmd holds the verbs that look after the store and its
// audit log: smki store backup, verify, migrate and digest, and smki audit
// verify (the hash chain and signed checkpoints). It also owns the --store
// flag and how an offline verb opens the store it names, which the ca and
// serve verbs share.
package storecmd
