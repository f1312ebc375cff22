package gbcs

import (
	"crypto/sha256"
	"testing"
	"time"
)

var sinkHeader *Header
var sinkSum [32]byte

// BenchmarkParseHeader parses every RTDS vector in turn. It reports its
// cost as a ratio to hashing the same messages with SHA-256 (measured in
// the same run), work any GBCS signature check does anyway: "x-sha256".
func BenchmarkParseHeader(b *testing.B) {
	vs := loadVectors(b)
	msgs := make([][]byte, len(vs))
	for i, v := range vs {
		msgs[i] = v.msg
	}
	b.ReportAllocs()
	start := time.Now()
	i := 0
	for b.Loop() {
		h, err := ParseHeader(msgs[i%len(msgs)])
		if err != nil {
			b.Fatal(err)
		}
		sinkHeader = h
		i++
	}
	parse := time.Since(start)
	start = time.Now()
	for j := 0; j < i; j++ {
		sinkSum = sha256.Sum256(msgs[j%len(msgs)])
	}
	if base := time.Since(start); base > 0 {
		b.ReportMetric(float64(parse)/float64(base), "x-sha256")
	}
}

// BenchmarkToCredit is the verifier's R5 check on a signed SR 1.6 command.
func BenchmarkToCredit(b *testing.B) {
	var msg []byte
	for _, v := range loadVectors(b) {
		if v.kind == KindCommand && v.useCase == ECS02 {
			msg = v.msg
			break
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := ToCredit(msg); !ok {
			b.Fatal(err)
		}
	}
}
