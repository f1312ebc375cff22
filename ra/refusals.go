package ra

import (
	"context"
	"log/slog"

	"github.com/smki/smki/ra/accessguard"
)

// Refused authentications of one credential are coalesced into few audit
// records whose counts add up (issue 12 finding 8; ra/accessguard's
// Coalescer counts, appendRefusal writes).

// ActAuthenticate is the action of an authentication refusal's record.
const ActAuthenticate Action = "officer.authenticate"

// RefusalWindow is how long refusals of one credential are coalesced.
const RefusalWindow = accessguard.RefusalWindow

// refusedCredential records a refused authentication of a credential
// (actor "unauthenticated:<CN>", subject "serial:<serial>"), coalesced
// per credential and code over RefusalWindow.
func (s *Service) refusedCredential(ctx context.Context, actor, subject string, cause error) {
	s.refusals.Refused(ctx, actor, subject, CodeOf(cause), cause.Error())
}

// FlushRefusals closes every open refusal window, writing their counts,
// and records later refusals one by one. The server calls it once it has
// stopped serving, before the store closes.
func (s *Service) FlushRefusals() { s.refusals.Flush() }

func (s *Service) appendRefusal(ctx context.Context, actor, subject, code, detail string) {
	err := s.appendAfterReads(ctx, s.entry(actor, ActAuthenticate, subject, "refused: "+code, detail))
	s.log.LogAttrs(ctx, slog.LevelWarn, "ra refused", slog.String("actor", actor), slog.String("action", string(ActAuthenticate)),
		slog.String("subject", subject), slog.String("code", code), slog.String("detail", detail))
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "ra audit append failed", slog.String("error", err.Error()))
	}
}
