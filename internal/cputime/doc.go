// Package cputime reads the calling OS thread's CPU time, for benchmarks
// that compare two pieces of work side by side on a shared, busy machine:
// wall-clock ratios there include the time other processes held the core,
// thread CPU time does not. It owns nothing else.
package cputime
