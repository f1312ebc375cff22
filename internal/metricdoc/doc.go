// Package metricdoc owns the metrics catalogue's format: the tables in
// docs/operations.md ("Monitoring") that name every metric a server
// exposes, and the checks that keep them and the code in step. It owns
// no metric; each server registers its own, and its test hands its
// registry here.
//
// A catalogue is a Markdown table between "<!-- metrics NAME -->" and
// "<!-- end metrics NAME -->", one row a metric:
//
//	| `smki_x_total` | counter | `code` | what it counts | what to do when it moves |
//
// The first cell is the name in backquotes, the second its type
// (counter, gauge, histogram), the third its label names in backquotes
// ("—": none), each optionally followed by its values in parentheses.
package metricdoc
