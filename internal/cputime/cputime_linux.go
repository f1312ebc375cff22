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

// Switches is the number of times the process's threads have given up
// their CPU, voluntarily (blocking: a futex, a sleep, a disk write) plus
// involuntarily (preempted), from getrusage: on a virtual machine where
// each OS thread switch costs many microseconds, switches per operation
// explain CPU per operation that no profile of the Go code shows.
func Switches() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Nvcsw + ru.Nivcsw
}
