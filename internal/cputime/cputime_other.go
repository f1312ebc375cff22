//go:build !linux

package cputime

import "time"

// Thread falls back to wall-clock time where thread CPU time is not
// available.
func Thread() time.Duration { return time.Duration(time.Now().UnixNano()) }

// Process falls back to wall-clock time where process CPU time is not
// available.
func Process() time.Duration { return time.Duration(time.Now().UnixNano()) }

// Switches is zero where the process's context switches are not counted.
func Switches() int64 { return 0 }
