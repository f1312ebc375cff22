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
func Thread() time.Duration {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ts.Nano())
}
