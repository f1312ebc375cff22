// Package authz is the RA's whole access policy: who may do what, as one
// table of (officer kind, action, target) in Authorize. Every decision of
// package ra asks it inside the transaction that makes the change; none
// decides on its own. A new rule is a new row, and its test a new row too.
//
// It is pure: it loads nothing and writes nothing (ra loads the officer and
// the target's facts, such as the custody lines of a SoLR approval), and it
// must not import ra or any package above it.
//
// It also owns what a party officer is told about another party's record:
// that it does not exist (Hidden, Unseen), so competing parties cannot
// probe each other's users, certificates, officers or events.
package authz
