package cputime

import (
	"runtime"
	"testing"
	"time"
)

func TestThreadAdvancesWithWorkNotSleep(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := Thread()
	time.Sleep(50 * time.Millisecond)
	slept := Thread() - t0
	t1 := Thread()
	x := 0
	for i := 0; i < 50_000_000; i++ {
		x += i ^ x
	}
	worked := Thread() - t1
	if x == 42 {
		t.Log(x)
	}
	if worked <= 0 {
		t.Fatalf("thread CPU time did not advance over a busy loop (%v)", worked)
	}
	if runtime.GOOS == "linux" && slept >= 25*time.Millisecond {
		t.Fatalf("thread CPU time counted a 50ms sleep as %v", slept)
	}
}

func TestProcessCountsOtherGoroutinesNotSleep(t *testing.T) {
	t0 := Process()
	time.Sleep(50 * time.Millisecond)
	slept := Process() - t0
	t1 := Process()
	done := make(chan int)
	go func() {
		x := 0
		for i := 0; i < 50_000_000; i++ {
			x += i ^ x
		}
		done <- x
	}()
	if x := <-done; x == 42 {
		t.Log(x)
	}
	if worked := Process() - t1; worked <= 0 {
		t.Fatalf("process CPU time did not advance over another goroutine's busy loop (%v)", worked)
	}
	if runtime.GOOS == "linux" && slept >= 25*time.Millisecond {
		t.Fatalf("process CPU time counted a 50ms sleep as %v", slept)
	}
}

func TestSwitchesCountSleeps(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counted on Linux only")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s0 := Switches()
	for range 20 {
		time.Sleep(time.Millisecond)
	}
	if n := Switches() - s0; n < 10 {
		t.Fatalf("20 sleeps counted as %d context switches", n)
	}
}
