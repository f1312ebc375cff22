// Package verb is what every smki verb is made of, so that a verb is its
// flags plus one call: the exit-code contract (errors carry their code:
// UsageErr, WithCode, ExitCode), the RA client a verb talks through
// (ClientFlags, WithClient, Call: credential, config file, busy retries,
// refusals printed "E_CODE: message"), the output forms (--json or a
// table) and the readers of flags, arguments and input files.
//
// It decides nothing about certificates, parties or requests: those
// decisions belong to the packages the verbs call (ra, ca, verifier), and
// the verbs themselves live in the sub-packages of cli named for their
// job.
package verb
