package testpki

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/internal/durable"
	"github.com/smki/smki/role"
)

// The files Build writes for the cases (docs/testpki.md).
const (
	// CasesFile is the case list with each case's expected verdict.
	CasesFile = "cases.json"
	// RequestsDir holds one signed request per case, NAME.xml.
	RequestsDir = "requests"
)

// Verdict is the decision a verifier must give a case: the fields of
// verifier.Decision that are a contract (docs/verifier.md, "Checks, in
// order"). Code is "" on accept; Route is the target device on accept,
// "" on reject.
type Verdict struct {
	Decision string `json:"decision"` // "accept" or "reject"
	Code     string `json:"code"`
	Route    string `json:"route"`
}

// Case is one signed Service Request of the scenario and the verdict it
// must get.
type Case struct {
	// Name is unique and starts with the case's three-digit position:
	// "001-is-1.1.1".
	Name string `json:"name"`
	// File is the signed request, relative to the output directory:
	// requests/NAME.xml.
	File string `json:"file"`
	// Signer is the user (users/NAME) whose key signed it.
	Signer string `json:"signer"`
	// RequestID is originator:target:counter as signed.
	RequestID string `json:"request_id"`
	// SRV is the Service Reference Variant.
	SRV string `json:"srv"`
	// CommandVariant is the DUIS Command Variant as signed: 1, 4, or 5
	// (a SignedPreCommand carrying a GBCS command).
	CommandVariant int `json:"command_variant"`
	// What says what the case shows, in a sentence.
	What string `json:"what"`
	// Want is the verdict.
	Want Verdict `json:"want"`
	// After, when set, names the case this one depends on: Want holds
	// only from a verifier that accepted that case first and kept its
	// replay state (a replay). `smki verify`, which keeps none, accepts it.
	After string `json:"after,omitempty"`
	// AfterFeed, when set, is the verdict once the feed page (Cases.Feed)
	// has been applied: set on every case the page changes, those signed
	// by FeedRevokedUser (REVOKED).
	AfterFeed *Verdict `json:"after_feed,omitempty"`
}

// Cases is cases.json. The verdicts hold when the cases are verified in
// their order by one verifier with no replay state, loaded with Trust
// and Bundle, each as of At (the request time and the verifier's clock):
// a replay case repeats an earlier case's file, and is refused only
// because that one was accepted first. That verifier, given then the feed
// page Feed (bundle.OpenFeedPage, Verifier.AddRevocations), gives each
// case with AfterFeed, verified again in order, that verdict.
type Cases struct {
	At     time.Time `json:"at"`
	Trust  string    `json:"trust"`  // the trust directory: "trust"
	Bundle string    `json:"bundle"` // the signed bundle: "bundle.json"
	Feed   string    `json:"feed"`   // the signed feed page: "feed-page.json"
	Cases  []Case    `json:"cases"`
}

// The verdicts' values (verifier.Accept, verifier.Reject and its codes,
// which testpki does not import: the verifier is what the cases test).
const (
	accept = "accept"
	reject = "reject"
)

// caseSpec is a case before it is signed.
type caseSpec struct {
	slug, what, signer string
	req                Request
	code               string // "" for accept
	replay             int    // >0: the file of the case at this position (1-based), as is
	mutate             func([]byte) ([]byte, error)
	// gbcs, for a SignedPreCommand, is the GBCS command req carries, signed
	// (with req's counter) by the key of the user gbcsSigner.
	gbcs       *GBCSCommand
	gbcsSigner string
}

// caseSpecs lists the scenario's cases in order: for every User Role but
// SC, every SRV its user may send (default eligibility) to a device it is
// registered for (any registered device for OU); every SRV the bundle
// allows SC (SR 1.6 to Credit, at once and future-dated) to the failed
// supplier's devices; then one negative case per check a team must see
// refused; then SR 1.6 as Command Variant 5 to SMETS2 meters
// (preCommandSpecs), after the others so that adding them moved no case.
func (p *PKI) caseSpecs() []caseSpec {
	isUser, _ := UserByName("supplier-b-xml")
	scUser, _ := UserByName("srp-sc-xml")
	supA, _ := UserByName("supplier-a-xml")
	var devA, devB, devGas, devA2, devB2 []eui64.ID
	for _, d := range p.Devices {
		switch {
		case d.Gas:
			devGas = append(devGas, d.ID)
		case d.Supplier == supA.ID:
			devA = append(devA, d.ID)
			if d.SMETS == 2 {
				devA2 = append(devA2, d.ID)
			}
		default:
			devB = append(devB, d.ID)
			if d.SMETS == 2 {
				devB2 = append(devB2, d.ID)
			}
		}
	}
	notInRegistry := eui64.MustParse("00-DB-12-34-56-78-9F-FF")
	var specs []caseSpec
	add := func(s caseSpec) { specs = append(specs, s) }

	elig := policy.Default()
	for _, sender := range []struct {
		user   string
		target eui64.ID
	}{
		{"supplier-b-xml", devB[0]}, {"supplier-b-es-xml", devB[0]}, {"supplier-c-gs-xml", devGas[0]},
		{"agent-rsa-xml", devB[0]}, {"dno-ed-xml", devB[0]}, {"gdn-gt-xml", devGas[0]}, {"other-ou-xml", devB[0]},
	} {
		u, _ := UserByName(sender.user)
		prefix := strings.ToLower(string(u.Role))
		for _, srv := range elig.AllowList(u.Role) {
			r := Request{Originator: u.ID, Target: sender.target, SRV: srv}
			if srv == srv16 {
				r.SRV, r.Body = "", Credit
			}
			add(caseSpec{slug: prefix + "-" + srv, signer: u.Name, req: r,
				what: fmt.Sprintf("%s sends SR %s to a device it is registered for", u.Role, srv)})
		}
	}
	add(caseSpec{slug: "is-1.6-prepayment", signer: isUser.Name, req: Request{Originator: isUser.ID, Target: devB[1], Body: Prepayment},
		what: "Import Supplier sends SR 1.6 to Prepayment (only SC is held to Credit)"})
	for _, srv := range p.Bundle().AllowLists[role.SoLRContingency] {
		r := Request{Originator: scUser.ID, Target: devA[0], SRV: srv}
		if srv == srv16 {
			r.SRV, r.Body = "", Credit
		}
		add(caseSpec{slug: "sc-" + srv, signer: scUser.Name, req: r,
			what: "SoLR Contingency sends SR " + srv + " (Credit for 1.6) to a device of the failed supplier during the SoLR event"})
	}
	add(caseSpec{slug: "sc-1.6-future", signer: scUser.Name,
		req:  Request{Originator: scUser.ID, Target: devA[1], Body: Credit, ExecutionDateTime: p.At.Add(time.Hour)},
		what: "SoLR Contingency sends a future-dated SR 1.6 to Credit (the event has no end)"})

	add(caseSpec{slug: "replay", signer: isUser.Name, replay: 1, code: "REPLAY",
		what: "the first case's file again: its counter was accepted already"})
	add(caseSpec{slug: "revoked-signer", signer: supA.Name, code: "REVOKED",
		req:  Request{Originator: supA.ID, Target: devA[2], Body: Credit},
		what: "the failed supplier signs with its certificate revoked at At"})
	add(caseSpec{slug: "expired-signer", signer: ExpiredUser, code: "CERT",
		req:  Request{Originator: isUser.ID, Target: devB[2], Body: ReadImportRegisters},
		what: "signed with a certificate that expired before At"})
	add(caseSpec{slug: "wrong-role", signer: WrongRoleUser, code: "E1",
		req:  Request{Originator: isUser.ID, Target: devB[2], Body: ReadImportRegisters},
		what: "signed with a certificate bound to GS; the bundle has the user as IS"})
	add(caseSpec{slug: "not-originator", signer: isUser.Name, code: "E1",
		req:  Request{Originator: scUser.ID, Target: devA[2], Body: Credit},
		what: "the RequestID's originator is another user than the signer"})
	for _, v := range elig.Variants() {
		if !elig.Allowed(role.ImportSupplier, v.SRV) {
			add(caseSpec{slug: "is-not-allowed-" + v.SRV, signer: isUser.Name, code: "E2",
				req:  Request{Originator: isUser.ID, Target: devB[2], SRV: v.SRV},
				what: "Import Supplier sends SR " + v.SRV + ", which its role may not send"})
			break
		}
	}
	add(caseSpec{slug: "sc-not-allowed-4.1.1", signer: scUser.Name, code: "E2",
		req:  Request{Originator: scUser.ID, Target: devA[2], Body: ReadImportRegisters},
		what: "SoLR Contingency sends SR 4.1.1, outside its allow-list"})
	add(caseSpec{slug: "sc-1.6-prepayment", signer: scUser.Name, code: "E2",
		req:  Request{Originator: scUser.ID, Target: devA[2], Body: Prepayment},
		what: "SoLR Contingency sends SR 1.6 to Prepayment: it may only set Credit"})
	add(caseSpec{slug: "sc-out-of-scope", signer: scUser.Name, code: "E4",
		req:  Request{Originator: scUser.ID, Target: devB[0], Body: Credit},
		what: "SoLR Contingency sends SR 1.6 to a device of the healthy supplier, outside the SoLR event"})
	add(caseSpec{slug: "sc-not-in-registry", signer: scUser.Name, code: "E4",
		req:  Request{Originator: scUser.ID, Target: notInRegistry, Body: Credit},
		what: "SoLR Contingency sends SR 1.6 to a device the registry does not hold"})
	add(caseSpec{slug: "is-other-suppliers-device", signer: isUser.Name, code: "E4",
		req:  Request{Originator: isUser.ID, Target: devA[2], Body: ReadImportRegisters},
		what: "Import Supplier sends to a device registered to another supplier"})
	add(caseSpec{slug: "bad-signature", signer: isUser.Name, code: "SIG", mutate: Tamper,
		req:  Request{Originator: isUser.ID, Target: devB[2], Body: ReadImportRegisters},
		what: "the RequestID's counter changed after signing"})
	add(caseSpec{slug: "dtd", signer: isUser.Name, code: "MALFORMED", mutate: WithDTD,
		req:  Request{Originator: isUser.ID, Target: devB[2], Body: ReadImportRegisters},
		what: "a signed request with a DTD inserted: refused before any cryptography"})
	return append(specs, preCommandSpecs(devA2, devB2, p.At)...)
}

// preCommandSpecs are the SR 1.6 Command Variant 5 cases: a
// SignedPreCommand whose GBCS command (ECS02 to Credit, ECS03 to
// Prepayment) is signed by a Supplier's Digital Signing key, to SMETS2
// meters: devA2 supplier-a's (failed), devB2 supplier-b's. SC's is what
// it sends for the failed Supplier (the verifier reads the GBCS: R5);
// supplier-b's own is a Supplier's Critical Command as usual.
func preCommandSpecs(devA2, devB2 []eui64.ID, at time.Time) []caseSpec {
	isUser, _ := UserByName("supplier-b-xml")
	scUser, _ := UserByName("srp-sc-xml")
	supA, _ := UserByName("supplier-a-ds")
	supB, _ := UserByName("supplier-b-ds")
	sc := func(slug, code, what string, target eui64.ID, cmd GBCSCommand, signer User) caseSpec {
		return caseSpec{slug: "sc-cv5-" + slug, signer: scUser.Name, code: code, what: what,
			req:  Request{Originator: scUser.ID, Target: target, Body: SignedPreCommand},
			gbcs: &cmd, gbcsSigner: signer.Name}
	}
	return []caseSpec{
		sc("credit", "", "SoLR Contingency sends SR 1.6 as Command Variant 5: an ECS02 (to Credit) signed by the failed supplier, to its SMETS2 meter",
			devA2[0], GBCSCommand{UseCase: ECS02, Originator: supA.ID, Recipient: devA2[0]}, supA),
		sc("future", "", "the same, future-dated inside the GBCS command (the event has no end)",
			devA2[1], GBCSCommand{UseCase: ECS02, Originator: supA.ID, Recipient: devA2[1], ExecuteAt: at.Add(time.Hour)}, supA),
		sc("prepayment", "E2", "SoLR Contingency sends Command Variant 5 with an ECS03 (to Prepayment): it may only set Credit",
			devA2[2], GBCSCommand{UseCase: ECS03, Originator: supA.ID, Recipient: devA2[2]}, supA),
		sc("other-device", "E2", "SoLR Contingency sends Command Variant 5 whose ECS02 is addressed to another device than the RequestID's target",
			devA2[2], GBCSCommand{UseCase: ECS02, Originator: supA.ID, Recipient: devA2[3]}, supA),
		sc("other-supplier", "E2", "SoLR Contingency sends Command Variant 5 whose ECS02 comes from a supplier the device is not registered to",
			devA2[2], GBCSCommand{UseCase: ECS02, Originator: supB.ID, Recipient: devA2[2]}, supB),
		{slug: "is-cv5-credit", signer: isUser.Name,
			req:  Request{Originator: isUser.ID, Target: devB2[0], Body: SignedPreCommand},
			gbcs: &GBCSCommand{UseCase: ECS02, Originator: supB.ID, Recipient: devB2[0]}, gbcsSigner: supB.Name,
			what: "Import Supplier sends SR 1.6 as Command Variant 5 with its own ECS02 to its SMETS2 meter"},
	}
}

// buildCases signs the cases (counters strictly increasing in case order,
// so every request is fresh but a replay) and returns them with their
// files by name.
func (p *PKI) buildCases() (*Cases, map[string][]byte, error) {
	specs := p.caseSpecs()
	out := &Cases{At: p.At, Trust: "trust", Bundle: "bundle.json", Feed: FeedPageFile}
	files := map[string][]byte{}
	for i, s := range specs {
		c := Case{Name: fmt.Sprintf("%03d-%s", i+1, s.slug), Signer: s.signer, Want: Verdict{Decision: accept}}
		c.File = RequestsDir + "/" + c.Name + ".xml"
		var signed []byte
		if s.replay > 0 {
			first := out.Cases[s.replay-1]
			c.RequestID, c.SRV, c.CommandVariant, signed, c.After = first.RequestID, first.SRV, first.CommandVariant, files[first.File], first.Name
		} else {
			cred := p.Users[s.signer]
			if cred == nil {
				return nil, nil, fmt.Errorf("%w: case %s: no user %s", ErrRequest, c.Name, s.signer)
			}
			s.req.Counter = uint64(i + 1)
			var err error
			if s.gbcs != nil {
				cmd, ds := *s.gbcs, p.Users[s.gbcsSigner]
				if ds == nil {
					return nil, nil, fmt.Errorf("%w: case %s: no user %s", ErrRequest, c.Name, s.gbcsSigner)
				}
				cmd.Counter = s.req.Counter
				if s.req.GBCSPayload, err = cmd.Sign(ds.Key); err != nil {
					return nil, nil, fmt.Errorf("case %s: %w", c.Name, err)
				}
			}
			if signed, err = s.req.Sign(cred.Key, cred.Cert); err != nil {
				return nil, nil, fmt.Errorf("case %s: %w", c.Name, err)
			}
			if s.mutate != nil {
				if signed, err = s.mutate(signed); err != nil {
					return nil, nil, fmt.Errorf("case %s: %w", c.Name, err)
				}
			}
			c.RequestID = s.req.RequestID()
			c.CommandVariant, c.SRV = s.req.variant()
		}
		c.What = s.what
		if s.code != "" {
			c.Want = Verdict{Decision: reject, Code: s.code}
		} else {
			c.Want.Route = s.req.Target.String()
			if s.signer == FeedRevokedUser {
				c.AfterFeed = &Verdict{Decision: reject, Code: "REVOKED"}
			}
		}
		files[c.File] = signed
		out.Cases = append(out.Cases, c)
	}
	return out, files, nil
}

// variant is the Command Variant and Service Reference Variant r is sent
// as.
func (r Request) variant() (cv int, srv string) {
	if r.Body == 0 {
		cv, _, srv, _, _ = r.genericHeader()
		return cv, srv
	}
	cv, _, srv, _ = r.Body.header()
	return cv, srv
}

// writeCases writes requests/ and cases.json.
func (p *PKI) writeCases() error {
	cs, files, err := p.buildCases()
	if err != nil {
		return err
	}
	p.Cases = cs
	if err := durable.MkdirAll(filepath.Join(p.Dir, RequestsDir), 0o755); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := durable.WriteNew(filepath.Join(p.Dir, filepath.FromSlash(name)), files[name], 0o644); err != nil {
			return err
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(cs); err != nil {
		return err
	}
	return durable.WriteNew(filepath.Join(p.Dir, CasesFile), b.Bytes(), 0o644)
}
