// Package cputime reads the calling OS thread's and the process's CPU
// time and the process's context switches, for benchmarks that compare
// two pieces of work side by side on a shared, busy machine: wall-clock
// ratios there include the time other processes held the core, CPU time
// does not. It owns nothing else.
package cputime
