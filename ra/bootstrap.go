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

	"github.com/smki/smki/store"
)

// Bootstrap makes sure the RA has its first two people: an ra-operator
// "admin" with a credential in dir/officers/admin/ and an ra-approver
// "approver" (the second person of four-eyes decisions) in
// dir/officers/approver/, each holding key.pem, cert.pem and ca.pem. It is
// idempotent: an officer whose directory holds its current credential is
// left alone; a missing or stale directory gets a new credential (the old
// one stops working). A removed bootstrap officer is never revived. Every
// change is audited with actor "system:bootstrap".
func (s *Service) Bootstrap(ctx context.Context, dir string) error {
	for _, b := range []struct{ id, kind, name string }{
		{bootstrapOperatorID, KindRAOperator, bootstrapOperatorName},
		{bootstrapApproverID, KindRAApprover, bootstrapApproverName},
	} {
		if err := s.bootstrapOne(ctx, filepath.Join(dir, "officers", b.id), b.id, b.kind, b.name); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) bootstrapOne(ctx context.Context, credDir, id, kind, name string) error {
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
	}
	cred, err := s.access.issueOfficer(id, kind, raOrganisation)
	if err != nil {
		return err
	}
	act, detail := ActAppointOfficer, "bootstrap kind="+kind+" cert_serial="+cred.Serial
	if existing != nil {
		detail = "bootstrap reissue kind=" + kind + " cert_serial=" + cred.Serial
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		var err error
		if existing == nil {
			err = tx.CreateOfficer(store.Officer{ID: id, Name: name, Kind: kind, CertSerial: cred.Serial,
				Status: store.StatusActive, CreatedAt: s.now().UTC(), AppointedBy: bootstrapActor})
		} else {
			o := *existing
			o.CertSerial = cred.Serial
			err = tx.PutOfficer(o)
		}
		if err != nil {
			return err
		}
		_, err = tx.AppendAudit(s.entry(bootstrapActor, act, "officer:"+id, "allowed", detail))
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: bootstrap officer %s: %w", ErrInternal, id, err)
	}
	// The store now names the new serial. Write the files beside and swap
	// them in, so a crash leaves either the old directory or the new one;
	// either way the next Bootstrap sees a stale or missing credential and
	// issues again.
	tmp := credDir + ".new"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	if err := WriteCredential(tmp, cred); err != nil {
		return err
	}
	if err := os.RemoveAll(credDir); err != nil {
		return fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	if err := os.Rename(tmp, credDir); err != nil {
		return fmt.Errorf("%w: %v", ErrAccessCA, err)
	}
	s.log.Info("ra bootstrap credential written", "officer", id, "kind", kind, "dir", credDir)
	return nil
}

// credentialSerial returns the serial of dir/cert.pem, or "".
func credentialSerial(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, "cert.pem"))
	if err != nil {
		return ""
	}
	if _, err := os.Stat(filepath.Join(dir, "key.pem")); err != nil {
		return ""
	}
	c, err := parseCertPEM(data)
	if err != nil {
		return ""
	}
	return serialHex(c.SerialNumber)
}

func parseCertPEM(data []byte) (*x509.Certificate, error) {
	b, rest := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: not one PEM certificate", ErrBadRequest)
	}
	return x509.ParseCertificate(b.Bytes)
}
