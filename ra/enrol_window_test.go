package ra

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smki/smki/ca"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/ratest"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// The tests below change what an enrolment's View decided while the
// enrolment is in the window between that View and the transaction that
// records its certificate (betweenIssuer), on both engines, and want the
// record transaction to refuse what a sequential request would be
// refused, with the same code: no certificate, its intent failed (no
// serial left open) and the refusal audited.

// meet returns a hook that holds the first n calls until all n have
// arrived (later calls pass): n enrolments in the window at once, each
// having passed its View before any is issued.
func meet(t *testing.T, n int) func() {
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	return func() {
		mu.Lock()
		arrived++
		mine := arrived
		if arrived == n {
			close(all)
		}
		mu.Unlock()
		if mine > n {
			return
		}
		select {
		case <-all:
		case <-time.After(30 * time.Second):
			t.Errorf("only %d of %d enrolments reached the window", arrived, n)
		}
	}
}

// once returns a hook that runs fn on its first call only.
func once(fn func()) func() {
	var o sync.Once
	return func() { o.Do(fn) }
}

// enrolBoth runs reqs concurrently as a, each held in the window until
// all have passed their checks, and returns their answers in order.
func (s *scenario) enrolBoth(t *testing.T, a Actor, reqs ...EnrolRequest) ([]Issued, []error) {
	t.Helper()
	s.svc.issuer = betweenIssuer{CA: s.ca, between: meet(t, len(reqs))}
	defer func() { s.svc.issuer = s.ca }()
	out, errs := make([]Issued, len(reqs)), make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() { out[i], errs[i] = s.svc.Enrol(context.Background(), a, req) })
	}
	wg.Wait()
	return out, errs
}

// oneWins wants exactly one of errs nil and the other refused with want,
// its message containing says; it returns the winner's index.
func oneWins(t *testing.T, errs []error, want error, says string) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner < 0:
			winner = i
		case err == nil:
			t.Fatalf("both enrolments issued; want one refused %v (%s)", want, says)
		case !errors.Is(err, want) || !strings.Contains(err.Error(), says):
			t.Fatalf("enrolment %d: %v, want %v saying %q", i, err, want, says)
		}
	}
	if winner < 0 {
		t.Fatalf("no enrolment issued: %v", errs)
	}
	return winner
}

// certsOf returns the serials of user's certificates.
func (s *scenario) certsOf(t *testing.T, user eui64.ID) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	err := s.st.View(context.Background(), func(tx store.Tx) error {
		cs, err := tx.ListCertificates(store.CertFilter{UserID: user.String()})
		clear(got)
		for _, c := range cs {
			got[c.Serial] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// settled fails t if any intent is open (a serial neither issued nor
// failed), if user has certificates other than before's and want's, or
// if the audit log's last enrolment refusal is not code (nil: not
// checked).
func (s *scenario) settled(t *testing.T, user eui64.ID, before map[string]bool, code error, want ...string) {
	t.Helper()
	ctx := context.Background()
	err := s.st.View(ctx, func(tx store.Tx) error {
		open, err := tx.OpenIntents()
		if len(open) != 0 {
			t.Errorf("%d intents left open: %+v", len(open), open)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := s.certsOf(t, user)
	for _, w := range want {
		if !got[w] {
			t.Errorf("certificate %s missing", w)
		}
		delete(got, w)
	}
	for sn := range got {
		if !before[sn] {
			t.Errorf("certificate %s issued, want none but %v", sn, want)
		}
	}
	if code == nil {
		return
	}
	if err := s.st.SealAudit(ctx); err != nil {
		t.Fatal(err)
	}
	var last store.AuditEntry
	for _, e := range ratest.AuditTail(t, s.st, 1<<20) {
		if e.Action == string(ActEnrol) && strings.HasPrefix(e.Result, "refused") {
			last = e
		}
	}
	if last.Result != "refused: "+code.Error() {
		t.Errorf("last enrolment refusal audited %q (%s), want refused: %s", last.Result, last.Detail, code)
	}
}

// enrolKey enrols a certificate of k for the scenario's IS user.
func (s *scenario) enrolKey(t *testing.T, k *ecdsa.PrivateKey) Issued {
	t.Helper()
	is, err := s.svc.Enrol(context.Background(), s.aroSup, s.isReq(t, k, ModeEnrol, ""))
	if err != nil {
		t.Fatal(err)
	}
	return is
}

// isReq is an xml-signing request for the scenario's IS user's key k.
func (s *scenario) isReq(t *testing.T, k *ecdsa.PrivateKey, m EnrolMode, replaces string) EnrolRequest {
	return EnrolRequest{UserID: s.userIS, Profile: ca.XMLSigning, CSR: ratest.CSR(t, k, s.userIS, role.ImportSupplier, ca.XMLSigning),
		Mode: m, Replaces: replaces}
}

// TestEnrolDoubleSubmitIssuesOnce: one enrolment (same user, same CSR)
// submitted twice at once, both past their checks before either is
// issued, issues one certificate; the other is refused as a resubmission
// after it is (E_RA_KEY_REUSE, already certified; use renew).
func TestEnrolDoubleSubmitIssuesOnce(t *testing.T) {
	t.Parallel()
	for name, open := range raceEngines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t, open(t)...)
			k := ratest.NewKey(t)
			req := s.isReq(t, k, ModeEnrol, "")
			before := s.certsOf(t, s.userIS)
			out, errs := s.enrolBoth(t, s.aroSup, req, req)
			w := oneWins(t, errs, ErrKeyReuse, "already certified")
			if msg := errs[1-w].Error(); !strings.Contains(msg, "use renew") ||
				!strings.Contains(msg, "smki cert get --serial "+out[w].Cert.Serial) {
				t.Errorf("refusal %v does not say how to get the certificate issued (%s) and how to renew", errs[1-w], out[w].Cert.Serial)
			}
			s.settled(t, s.userIS, before, ErrKeyReuse, out[w].Cert.Serial)
			_, err := s.svc.Enrol(context.Background(), s.aroSup, req)
			if !errors.Is(err, ErrKeyReuse) || !strings.Contains(err.Error(), "already certified") {
				t.Errorf("sequential resubmission: %v, want %v (already certified)", err, ErrKeyReuse)
			}
		})
	}
}

// TestRenewRetryIssuesOnce: a certificate is replaced once. A renew or
// rekey of X submitted again, after the first was issued or at the same
// time, is refused E_RA_REPLACES_MISMATCH naming X's replacement, whether
// the retry sends the same CSR or (rekey) another key.
func TestRenewRetryIssuesOnce(t *testing.T) {
	t.Parallel()
	for name, open := range raceEngines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t, open(t)...)
			ctx := context.Background()
			for _, tc := range []struct {
				name string
				reqs func(k *ecdsa.PrivateKey, x string) [2]EnrolRequest
			}{
				{"renew", func(k *ecdsa.PrivateKey, x string) [2]EnrolRequest {
					r := s.isReq(t, k, ModeRenew, x)
					return [2]EnrolRequest{r, r}
				}},
				{"rekey, same CSR", func(_ *ecdsa.PrivateKey, x string) [2]EnrolRequest {
					r := s.isReq(t, ratest.NewKey(t), ModeRekey, x)
					return [2]EnrolRequest{r, r}
				}},
				{"rekey, two keys", func(_ *ecdsa.PrivateKey, x string) [2]EnrolRequest {
					return [2]EnrolRequest{s.isReq(t, ratest.NewKey(t), ModeRekey, x), s.isReq(t, ratest.NewKey(t), ModeRekey, x)}
				}},
			} {
				for _, concurrent := range []bool{false, true} {
					name := tc.name + ", sequential"
					if concurrent {
						name = tc.name + ", concurrent"
					}
					t.Run(name, func(t *testing.T) {
						k := ratest.NewKey(t)
						x := s.enrolKey(t, k)
						reqs := tc.reqs(k, x.Cert.Serial)
						before := s.certsOf(t, s.userIS)
						out, errs := make([]Issued, 2), make([]error, 2)
						if concurrent {
							out, errs = s.enrolBoth(t, s.aroSup, reqs[:]...)
						} else {
							for i, r := range reqs {
								out[i], errs[i] = s.svc.Enrol(ctx, s.aroSup, r)
							}
						}
						w := oneWins(t, errs, ErrReplaced, "already replaced")
						if !strings.Contains(errs[1-w].Error(), out[w].Cert.Serial) {
							t.Errorf("refusal %v does not name the replacement %s", errs[1-w], out[w].Cert.Serial)
						}
						s.settled(t, s.userIS, before, ErrReplaced, out[w].Cert.Serial)
						// The replacement is replaced in its turn.
						next := s.isReq(t, ratest.NewKey(t), ModeRekey, out[w].Cert.Serial)
						if _, err := s.svc.Enrol(ctx, s.aroSup, next); err != nil {
							t.Fatalf("rekey of the replacement: %v", err)
						}
					})
				}
			}
		})
	}
}

// TestRenewRacingRevocationOfReplaced: X revoked after a renew or rekey
// of X passed its checks and before its certificate is recorded: the
// replacement is refused as a request after the revocation is
// (E_RA_REPLACES_MISMATCH, X is revoked).
func TestRenewRacingRevocationOfReplaced(t *testing.T) {
	t.Parallel()
	for name, open := range raceEngines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t, open(t)...)
			ctx := context.Background()
			for _, m := range []EnrolMode{ModeRenew, ModeRekey} {
				t.Run(string(m), func(t *testing.T) {
					k := ratest.NewKey(t)
					x := s.enrolKey(t, k)
					if m == ModeRekey {
						k = ratest.NewKey(t)
					}
					s.svc.issuer = betweenIssuer{CA: s.ca, between: once(func() {
						if _, err := s.svc.Revoke(ctx, s.sroSup, RevokeRequest{Serial: x.Cert.Serial, Reason: 1}); err != nil {
							t.Errorf("revoke: %v", err)
						}
					})}
					defer func() { s.svc.issuer = s.ca }()
					before := s.certsOf(t, s.userIS)
					_, err := s.svc.Enrol(ctx, s.aroSup, s.isReq(t, k, m, x.Cert.Serial))
					if !errors.Is(err, ErrReplaced) || !strings.Contains(err.Error(), "revoked") {
						t.Fatalf("%s of a certificate revoked before its replacement was recorded: %v, want %v (revoked)", m, err, ErrReplaced)
					}
					s.settled(t, s.userIS, before, ErrReplaced)
				})
			}
		})
	}
}

// TestEnrolByOfficerRemovedInTheWindow: the acting ARO removed, or its
// credential superseded, after its enrolment passed its checks and
// before the certificate is recorded: refused as a request after the
// change is (E_RA_OFFICER_INACTIVE).
func TestEnrolByOfficerRemovedInTheWindow(t *testing.T) {
	t.Parallel()
	enrolChangedInTheWindow(t, []windowChange{
		{"removed", func(s *scenario) error {
			_, err := s.svc.RemoveOfficer(context.Background(), s.sroSup, "aro-a")
			return err
		}, ErrOfficerInactive},
		{"credential renewed", func(s *scenario) error {
			_, _, err := s.svc.RenewOfficerCredential(context.Background(), s.aroSup, "aro-a", "")
			return err
		}, ErrOfficerInactive},
	})
}

// TestEnrolRacingWithdrawal: the user withdrawn (its User Role taken from
// its party), or the acting ARO suspended, after an enrolment passed its
// checks and before its certificate is recorded: refused as a request
// after the change is (E_RA_INACTIVE, E_RA_OFFICER_INACTIVE), so no
// certificate of a withdrawn user is left good (docs/api.md, "Withdrawing
// a User ID").
func TestEnrolRacingWithdrawal(t *testing.T) {
	t.Parallel()
	enrolChangedInTheWindow(t, []windowChange{
		{"user withdrawn", func(s *scenario) error {
			_, err := s.svc.WithdrawUser(context.Background(), s.admin, s.userIS, ReasonPrivilegeWithdrawn, true)
			return err
		}, ErrInactive},
		{"officer suspended", func(s *scenario) error {
			_, err := s.svc.SetOfficerStatus(context.Background(), s.sroSup, "aro-a", store.StatusSuspended)
			return err
		}, ErrOfficerInactive},
	})
}

// windowChange is a change made after an enrolment passed its checks and
// before its certificate is recorded, and the refusal it must get.
type windowChange struct {
	name   string
	change func(s *scenario) error
	want   error
}

// enrolChangedInTheWindow runs, on each engine, an ARO's enrolment with
// each change made in its window (betweenIssuer), and wants the
// enrolment refused with the change's code and settled: no certificate
// recorded, its intent failed.
func enrolChangedInTheWindow(t *testing.T, changes []windowChange) {
	for name, open := range raceEngines {
		for _, tc := range changes {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				s := newScenario(t, open(t)...)
				s.svc.issuer = betweenIssuer{CA: s.ca, between: once(func() {
					if err := tc.change(s); err != nil {
						t.Errorf("%s: %v", tc.name, err)
					}
				})}
				before := s.certsOf(t, s.userIS)
				_, err := s.svc.Enrol(context.Background(), s.aroSup, s.isReq(t, ratest.NewKey(t), ModeEnrol, ""))
				if !errors.Is(err, tc.want) {
					t.Fatalf("enrolment with the %s before its certificate was recorded: %v, want %v", tc.name, err, tc.want)
				}
				s.settled(t, s.userIS, before, tc.want)
			})
		}
	}
}
