package ra

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/smki/smki/internal/credential"
	"github.com/smki/smki/internal/opfile"
	"github.com/smki/smki/ra/ownpki"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/store"
)

// Bootstrap makes sure the RA has its first two people: an ra-operator
// "admin" with a credential in dir/officers/admin/ and an ra-approver
// "approver" (the second person of four-eyes decisions) in
// dir/officers/approver/, each holding key.pem, cert.pem and ca.pem. It
// creates them on first start only. Once they exist their credentials are
// their holders' business (moved off the server, renewed with smki officer
// renew), so a missing or stale directory is left alone and logged: a
// restart never supersedes a credential someone holds. The one repair it
// makes is finishing its own interrupted write (dir/officers/ID.new holding
// the current credential). A removed bootstrap officer is never revived.
// Every change is audited with actor "system:bootstrap".
func (s *Service) Bootstrap(ctx context.Context, dir string) error {
	return s.bootstrap(ctx, dir, false)
}

// RecoverBootstrap is Bootstrap that also re-issues an existing bootstrap
// officer whose directory is missing or holds a superseded credential (the
// old one stops working): the break-glass for an RA whose every operator
// lost their credential, or after the access CA was replaced. It is run
// only on request (smki serve --recover-bootstrap) by whoever controls the
// server's data directory, and audited as a bootstrap reissue.
func (s *Service) RecoverBootstrap(ctx context.Context, dir string) error {
	return s.bootstrap(ctx, dir, true)
}

func (s *Service) bootstrap(ctx context.Context, dir string, recover bool) error {
	for _, b := range []struct{ id, kind, name string }{
		{bootstrapOperatorID, KindRAOperator, bootstrapOperatorName},
		{bootstrapApproverID, KindRAApprover, bootstrapApproverName},
	} {
		if err := s.bootstrapOne(ctx, filepath.Join(dir, "officers", b.id), b.id, b.kind, b.name, recover); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) bootstrapOne(ctx context.Context, credDir, id, kind, name string, recover bool) error {
	var existing *store.Officer
	err := s.st.View(ctx, func(tx store.Tx) error {
		o, err := tx.GetOfficer(id)
		if errors.Is(err, store.ErrNotFound) {
			existing = nil
			return nil
		}
		existing = &o
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: bootstrap: %w", ErrInternal, err)
	}
	if existing != nil {
		if existing.Status != store.StatusActive {
			return fmt.Errorf("%w: bootstrap officer %s is %s; appoint a new one instead", ErrOfficerInactive, id, existing.Status)
		}
		if credentialSerial(credDir) == existing.CertSerial {
			return nil
		}
		if credentialSerial(credDir+".new") == existing.CertSerial {
			// A crash between recording the credential and swapping its
			// files in: finish the swap.
			return swapIn(credDir+".new", credDir)
		}
		if !recover {
			s.log.Info("bootstrap officer exists; its credential is with its holder, not re-issued",
				"officer", id, "dir", credDir, "recover", "smki serve --recover-bootstrap")
			return nil
		}
	}
	cred, err := s.access.IssueOfficer(id, kind, raOrganisation)
	if err != nil {
		return err
	}
	act, detail := ActAppointOfficer, "bootstrap kind="+kind+" cert_serial="+cred.Serial
	if existing != nil {
		detail = "bootstrap reissue kind=" + kind + " cert_serial=" + cred.Serial
	}
	// The files are written beside the directory before the store names
	// the new serial, and swapped in after: a crash leaves the old
	// directory (and an unregistered credential, which authenticates
	// nobody) or a complete ID.new that the next start swaps in.
	tmp := credDir + ".new"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("%w: %v", ownpki.ErrAccessCA, err)
	}
	if err := ownpki.WriteCredential(tmp, cred); err != nil {
		return err
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		var err error
		if existing == nil {
			err = tx.CreateOfficer(store.Officer{ID: id, Name: name, Kind: kind, CertSerial: cred.Serial, CertNotAfter: cred.NotAfter,
				Status: store.StatusActive, CreatedAt: s.now().UTC(), AppointedBy: bootstrapActor})
		} else {
			o := *existing
			o.CertSerial, o.CertNotAfter = cred.Serial, cred.NotAfter
			err = tx.PutOfficer(o)
		}
		if err != nil {
			return err
		}
		if err := records.RecordCustody(tx, id, bootstrapActor, cred.Serial, records.KeyRAGenerated); err != nil {
			return err
		}
		_, err = tx.AppendAudit(s.entry(bootstrapActor, act, "officer:"+id, "allowed", detail))
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: bootstrap officer %s: %w", ErrInternal, id, err)
	}
	if err := swapIn(tmp, credDir); err != nil {
		return err
	}
	s.log.Info("ra bootstrap credential written", "officer", id, "kind", kind, "dir", credDir)
	return nil
}

// swapIn replaces dir with the complete credential directory tmp.
func swapIn(tmp, dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("%w: %v", ownpki.ErrAccessCA, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("%w: %v", ownpki.ErrAccessCA, err)
	}
	return nil
}

// credentialSerial returns the serial of dir/cert.pem, or "".
func credentialSerial(dir string) string {
	data, err := opfile.Read(credential.CertPath(dir), opfile.MaxCertificate)
	if err != nil {
		return ""
	}
	if _, err := os.Stat(credential.KeyPath(dir)); err != nil {
		return ""
	}
	c, err := parseCertPEM(data)
	if err != nil {
		return ""
	}
	return ownpki.SerialOf(c)
}

func parseCertPEM(data []byte) (*x509.Certificate, error) {
	b, rest := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: not one PEM certificate", ErrBadRequest)
	}
	return x509.ParseCertificate(b.Bytes)
}
