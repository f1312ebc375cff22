package cputime

import (
	"syscall"
	"time"
	"unsafe"
)

// Thread is the calling OS thread's CPU time (CLOCK_THREAD_CPUTIME_ID).
// Callers lock the OS thread (runtime.LockOSThread) around a measurement.
// Work the runtime does on other threads (background GC) is not counted:
// report a wall-clock figure beside it.
func Thread() time.Duration { return clock(3) }

// Process is the CPU time of every thread of the process
// (CLOCK_PROCESS_CPUTIME_ID): the runtime's own work (GC, scheduling) and
// the kernel's for the process's syscalls included.
func Process() time.Duration { return clock(2) }

// clock reads clock id, or the wall clock if it cannot.
func clock(id uintptr) time.Duration {
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, id, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ts.Nano())
}
