// Package repocmd holds the verbs a relying party runs against the
// public endpoints, with no officer credential: smki repo mirror, repo
// serve (the repository without the RA, read-only from its PostgreSQL
// database) and cert status (OCSP, its answer verified before it is
// believed). What the repository answers is package repo's.
package repocmd
