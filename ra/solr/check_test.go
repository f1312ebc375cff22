package solr

import (
	"errors"
	"testing"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raerr"
)

// TestDeclareRequestCheck: a declaration names a failed party, an SRP user
// and an instruction, and its end (if any) comes after its start and its
// revocation time, and it has not passed at the declaration; each miss is refused with its own code before any
// transaction.
func TestDeclareRequestCheck(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	at := func(h int) *time.Time { x := start.Add(time.Duration(h) * time.Hour); return &x }
	ok := DeclareRequest{FailedParty: eui64.MustParse("90-B3-D5-1F-30-00-00-01"), SRPUser: eui64.MustParse("90-B3-D5-1F-30-05-00-01"),
		Instruction: "OFGEM-1", Start: start}
	for _, tt := range []struct {
		name string
		edit func(*DeclareRequest)
		want error
	}{
		{"complete", func(*DeclareRequest) {}, nil},
		{"open-ended, revoke later", func(r *DeclareRequest) { r.RevokeAt = at(2) }, nil},
		{"no failed party", func(r *DeclareRequest) { r.FailedParty = eui64.ID{} }, raerr.ErrInvalidID},
		{"no SRP user", func(r *DeclareRequest) { r.SRPUser = eui64.ID{} }, raerr.ErrInvalidID},
		{"no instruction", func(r *DeclareRequest) { r.Instruction = " " }, raerr.ErrBadRequest},
		{"end at start", func(r *DeclareRequest) { r.End = at(0) }, raerr.ErrBadRequest},
		{"revocation at end", func(r *DeclareRequest) { r.End, r.RevokeAt = at(3), at(3) }, raerr.ErrBadRequest},
		{"backdated start, end to come", func(r *DeclareRequest) { r.Start, r.End = *at(-3), at(1) }, nil},
		{"end already passed", func(r *DeclareRequest) { r.Start, r.End = *at(-3), at(-1) }, raerr.ErrBadRequest},
	} {
		r := ok
		tt.edit(&r)
		if err := r.check(start); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}
