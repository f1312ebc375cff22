// Package cli is the smki command line: one urfave/cli application that
// puts together the verbs of its sub-packages, each named for its job
// (cacmd, servecmd, storecmd, registrycmd, officercmd, certcmd, solrcmd,
// verifycmd, repocmd, democmd), on the pieces every verb is made of
// (package verb: exit codes, the RA client, output). It owns the verb
// list, usage errors, the generated reference (smki docs, docs/cli.md),
// completion and version; every decision a verb reports is made by the
// package that owns it.
package cli
