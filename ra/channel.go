package ra

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// ChannelConsole is the channel of an actor acting through the web
// console (package console): its audit records say "channel=console".
const ChannelConsole = "console"

// Via returns a with the channel it acts through: every audit record of
// its decisions then ends in "channel=NAME". The decisions themselves are
// the same whatever the channel.
func (a Actor) Via(channel string) Actor {
	a.channel = channel
	return a
}

// Channel returns the channel a acts through ("" for the API).
func (a Actor) Channel() string { return a.channel }

// Serial returns the serial (lower-case hex) of the access certificate a
// authenticated with.
func (a Actor) Serial() string { return a.serial }

// entryOf is entry for an authenticated actor, marked with its channel.
func (s *Service) entryOf(a Actor, act Action, subject, result, detail string) store.AuditEntry {
	return s.entry(a.id, act, subject, result, withChannel(a, detail))
}

// refusedOf is refused for an authenticated actor, marked with its channel.
func (s *Service) refusedOf(ctx context.Context, a Actor, act Action, subject string, cause error) {
	if a.channel == "" {
		s.refused(ctx, a.id, act, subject, cause)
		return
	}
	s.refused(ctx, a.id, act, subject, fmt.Errorf("%w; channel=%s", cause, a.channel))
}

func withChannel(a Actor, detail string) string {
	switch {
	case a.channel == "":
		return detail
	case detail == "":
		return "channel=" + a.channel
	}
	return detail + "; channel=" + a.channel
}

// GetUser returns one User ID. A party officer gets one answer for a user
// of another party and for one that does not exist (E_RA_NOT_FOUND, as
// GetCertificate), and the refusal is audited.
func (s *Service) GetUser(ctx context.Context, a Actor, id eui64.ID) (User, error) {
	var out User
	err := s.read(ctx, a, ActReadParty, "user:"+id.String(), func(tx store.Tx, me store.Officer) error {
		u, err := tx.GetUser(id.String())
		if err != nil {
			return hidden(me, "user", id.String(), raerr.FromStore("user "+id.String(), err))
		}
		if err := authorizeRead(me, u.PartyID); err != nil {
			return hidden(me, "user", id.String(), err)
		}
		out = userFrom(u)
		return nil
	})
	return out, err
}

// AuditQuery selects audit entries for AuditLog; empty fields match all.
type AuditQuery struct {
	Actor   string
	Action  string
	Subject string    // a substring of the subject, e.g. a party ID
	Since   time.Time // entries at or after (zero: any)
	Until   time.Time // entries before (zero: any)
	Limit   int       // at most this many (default and cap 500)
}

// auditLogMax caps one AuditLog answer.
const auditLogMax = 500

// validAuditFilter keeps filter values to what audit fields hold.
var validAuditFilter = regexp.MustCompile(`^[A-Za-z0-9:._@/ -]{0,128}$`)

// AuditLog returns sealed audit entries, newest first, that match q. It is
// an RA officer's read (the same right as VerifyAudit) and is audited.
func (s *Service) AuditLog(ctx context.Context, a Actor, q AuditQuery) ([]store.AuditEntry, error) {
	for _, v := range []string{q.Actor, q.Action, q.Subject} {
		if !validAuditFilter.MatchString(v) {
			return nil, fmt.Errorf("%w: audit filter %q: use letters, digits and : . _ @ / - only", ErrBadRequest, v)
		}
	}
	if q.Limit <= 0 || q.Limit > auditLogMax {
		q.Limit = auditLogMax
	}
	if err := s.st.SealAudit(ctx); err != nil {
		return nil, fmt.Errorf("%w: sealing the audit log: %w", ErrInternal, err)
	}
	var out []store.AuditEntry
	err := s.read(ctx, a, ActVerifyAudit, "audit", func(tx store.Tx, me store.Officer) error {
		if err := Authorize(me, ActVerifyAudit, Target{}); err != nil {
			return err
		}
		out = nil
		// Walk back from the head of the log a page at a time, newest
		// first, until q.Limit match: the log grows by every audited
		// read, and the newest are what is asked for (a filter that
		// matches little still reads back to the first entry).
		last, ok, err := records.LastAuditEntry(tx)
		if err != nil {
			return fmt.Errorf("%w: reading audit entries: %w", ErrInternal, err)
		}
		for hi := last.Seq; ok && hi >= 1; {
			from := uint64(1)
			if hi > auditPage {
				from = hi - auditPage + 1
			}
			page, err := tx.AuditEntries(from, int(hi-from+1))
			if err != nil {
				return fmt.Errorf("%w: reading audit entries: %w", ErrInternal, err)
			}
			for i := len(page) - 1; i >= 0; i-- {
				if e := page[i]; e.Seq <= hi && matchAudit(e, q) {
					if out = append(out, e); len(out) == q.Limit {
						return nil
					}
				}
			}
			if from == 1 {
				break
			}
			hi = from - 1
		}
		return nil
	})
	return out, err
}

func matchAudit(e store.AuditEntry, q AuditQuery) bool {
	return (q.Actor == "" || e.Actor == q.Actor) &&
		(q.Action == "" || e.Action == q.Action) &&
		(q.Subject == "" || strings.Contains(strings.ToLower(e.Subject), strings.ToLower(q.Subject))) &&
		(q.Since.IsZero() || !e.Time.Before(q.Since)) &&
		(q.Until.IsZero() || e.Time.Before(q.Until))
}
