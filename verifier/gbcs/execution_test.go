package gbcs

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestExecutionTimeVectors: of DCC's signed to-Credit commands (the ones
// ToCredit accepts), the future-dated ones execute at 2030-01-15 09:00 UTC,
// the immediate ones at once, and the cancellations are ErrCancellation;
// other use cases are not to-Credit commands. Expectations come from the
// vectors' names, never from the parser.
func TestExecutionTimeVectors(t *testing.T) {
	t.Parallel()
	want := time.Date(2030, 1, 15, 9, 0, 0, 0, time.UTC)
	seen := map[string]int{}
	for _, v := range loadVectors(t) {
		if _, ok, _ := ToCredit(v.msg); !ok {
			if _, err := ExecutionTime(v.msg); err == nil {
				t.Errorf("%s: not a to-Credit command, yet ExecutionTime gives no error", v.name)
			}
			continue
		}
		at, err := ExecutionTime(v.msg)
		switch {
		case strings.Contains(v.name, "FUTURE_DATED"):
			seen["future"]++
			if err != nil || at == nil || !at.Equal(want) {
				t.Errorf("%s: executes at %v (%v), want %v", v.name, at, err, want)
			}
		case strings.Contains(v.name, "CANCELLATION"):
			seen["cancellation"]++
			if !errors.Is(err, ErrCancellation) {
				t.Errorf("%s: %v, %v; want ErrCancellation", v.name, at, err)
			}
		case strings.Contains(v.name, "IMMEDIATE"):
			seen["immediate"]++
			if err != nil || at != nil {
				t.Errorf("%s: executes at %v (%v), want at once", v.name, at, err)
			}
		default:
			t.Errorf("%s: name says neither future-dated, cancellation nor immediate", v.name)
		}
	}
	for _, k := range []string{"future", "cancellation", "immediate"} {
		if seen[k] < 2 {
			t.Errorf("%d %s to-Credit vectors, want at least 2 (ECS02 and GCS02): %v", seen[k], k, seen)
		}
	}
}

// TestExecutionTimeRefusesWhatItCannotPin: a to-Credit command whose
// execution time is not one instant is an error, never "at once".
func TestExecutionTimeRefusesWhatItCannotPin(t *testing.T) {
	t.Parallel()
	var ecs, gcs []byte
	for _, v := range loadVectors(t) {
		if _, ok, _ := ToCredit(v.msg); ok && strings.Contains(v.name, "FUTURE_DATED") {
			switch v.useCase {
			case ECS02:
				ecs = v.msg
			case GCS02:
				gcs = v.msg
			}
		}
	}
	if ecs == nil || gcs == nil {
		t.Fatal("future-dated ECS02/GCS02 pre-command vectors not found")
	}
	// Find the execution time by its value (it occurs once in each).
	dt := []byte{0x07, 0xEE, 0x01, 0x0F, 0xFF, 0x09, 0x00, 0x00, 0x00, 0x80, 0x00, 0xFF}
	utc := []byte{0x90, 0x88, 0x81, 0x38}
	mutate := func(msg, find []byte, at int, b ...byte) []byte {
		i := bytes.Index(msg, find)
		if i < 0 || bytes.Contains(msg[i+1:], find) {
			t.Fatalf("% X not found exactly once", find)
		}
		out := bytes.Clone(msg)
		copy(out[i+at:], b)
		return out
	}
	for name, msg := range map[string][]byte{
		"ECS02 wildcard month":  mutate(ecs, dt, 2, 0xFF),
		"ECS02 deviation +60":   mutate(ecs, dt, 9, 0x00, 0x3C),
		"ECS02 month 13":        mutate(ecs, dt, 2, 13),
		"GCS02 UTCTime invalid": mutate(gcs, utc, 0, 0xFF, 0xFF, 0xFF, 0xFF),
	} {
		if at, err := ExecutionTime(msg); err == nil {
			t.Errorf("%s: executes at %v, want an error", name, at)
		}
	}
	later := mutate(gcs, utc, 0, 0x10, 0x0E, 0x00, 0x00) // 3,600 s after the epoch
	if at, err := ExecutionTime(later); err != nil || at == nil || !at.Equal(zigbeeEpoch.Add(time.Hour)) {
		t.Errorf("GCS02 UTCTime 3600: %v, %v", at, err)
	}
}
