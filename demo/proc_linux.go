package demo

import "syscall"

// setParentDeath: if the demo itself is killed (SIGKILL cannot be caught),
// the kernel sends the server SIGTERM, so no server outlives its demo.
func setParentDeath(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGTERM }
