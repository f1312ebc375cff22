package priority

import (
	"context"
	"testing"
	"time"
)

func TestOrdinaryWaitsForUrgent(t *testing.T) {
	t.Parallel()
	var g Gate
	if err := g.Wait(context.Background()); err != nil {
		t.Fatalf("Wait with nothing urgent: %v", err)
	}
	done1, done2 := g.Urgent(), g.Urgent()
	passed := make(chan struct{})
	go func() {
		_ = g.Wait(context.Background())
		close(passed)
	}()
	done1()
	done1() // idempotent: must not release the second
	select {
	case <-passed:
		t.Fatal("ordinary work started while urgent work was pending")
	case <-time.After(20 * time.Millisecond):
	}
	done2()
	select {
	case <-passed:
	case <-time.After(5 * time.Second):
		t.Fatal("ordinary work still waiting after the urgent work finished")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer g.Urgent()()
	cancel()
	if err := g.Wait(ctx); err == nil {
		t.Fatal("Wait ignored a cancelled context")
	}
}
