package raclient

import (
	"time"

	"github.com/smki/smki/ra/raapi"
)

// declareBodyOf writes a DeclareRequest as its wire body.
func declareBodyOf(r raapi.DeclareRequest) raapi.DeclareBody {
	b := raapi.DeclareBody{FailedParty: r.FailedParty.String(), SRPUser: r.SRPUser.String(), Instruction: r.Instruction}
	if !r.Start.IsZero() {
		b.Start = r.Start.UTC().Format(time.RFC3339Nano)
	}
	if r.End != nil {
		b.End = r.End.UTC().Format(time.RFC3339Nano)
	}
	if r.RevokeAt != nil {
		b.RevokeAt = r.RevokeAt.UTC().Format(time.RFC3339Nano)
	}
	return b
}
