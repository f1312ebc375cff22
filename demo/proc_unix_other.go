//go:build unix && !linux

package demo

import "syscall"

// setParentDeath: only Linux can tie a child's life to its parent's.
func setParentDeath(*syscall.SysProcAttr) {}
