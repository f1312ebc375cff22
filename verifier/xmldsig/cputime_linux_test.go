package xmldsig

import (
	"syscall"
	"time"
	"unsafe"
)

// threadCPU is the calling OS thread's CPU time (CLOCK_THREAD_CPUTIME_ID):
// on a shared, busy machine it leaves out the time other processes held the
// core, which wall-clock ratios cannot. Callers lock the OS thread.
func threadCPU() time.Duration {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ts.Nano())
}
