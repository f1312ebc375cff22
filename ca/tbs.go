package ca

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The end-entity TBS assembler. Two Organisation Certificates of one shape
// (profile key usage, policy, role binding) under one issuer differ only in
// serial, validity, subject, public key and subject key identifier; every
// other byte of their TBSCertificate is the same. So the TBS is built once
// per shape by the profile template and x509.CreateCertificate (the
// skeleton), and each issuance assembles its own from the skeleton's bytes
// and its five values, with no template, no x509.CreateCertificate (whose
// own signature check of its output costs more than a signature) and no
// re-encoding of the fixed parts. The bytes are those the template and
// x509.CreateCertificate write for the same request;
// TestAssembledTBSEqualsCreateCertificate holds it so.

var oidSubjectKeyID = asn1.ObjectIdentifier{2, 5, 29, 14}

// tbsSkeleton is a shape's TBSCertificate cut around its varying fields.
type tbsSkeleton struct {
	version     []byte // the [0] EXPLICIT version element
	algIssuer   []byte // signature AlgorithmIdentifier and issuer Name elements
	extsBefore  []byte // Extension elements before subjectKeyIdentifier
	extsAfter   []byte // and after it
	extCritical bool   // never, for SKID; kept for fidelity
}

// skeletonKey names a skeleton: the shape and the issuer's name and key
// identifier (which give the TBS its issuer and authorityKeyIdentifier).
type skeletonKey struct {
	shape               endEntityShape
	issuerSubject, akid string
}

// tbsSkeletons caches skeletonKey -> *tbsSkeleton.
var tbsSkeletons sync.Map

// endEntityTBS returns the TBSCertificate of the end-entity certificate of
// shape with v's values and csr's public key, issued by issuer (its name
// and key identifier). csr's SubjectPublicKeyInfo must be canonical DER
// (checkCSRKeyAndSignature), as x509.CreateCertificate would re-encode it.
func (l *linter) endEntityTBS(csr *x509.CertificateRequest, shape endEntityShape, v endEntity, issuer *x509.Certificate) ([]byte, error) {
	k := skeletonKey{shape: shape, issuerSubject: string(issuer.RawSubject), akid: string(issuer.SubjectKeyId)}
	cached, ok := tbsSkeletons.Load(k)
	if !ok {
		sk, err := l.newSkeleton(csr, shape, v, issuer)
		if err != nil {
			return nil, err
		}
		cached, _ = tbsSkeletons.LoadOrStore(k, sk)
	}
	sk := cached.(*tbsSkeleton)
	// Sized once for the whole TBS (growing the buffer from nothing took
	// eight allocations): the skeleton, the varying fields, and room for
	// every header.
	b := cryptobyte.NewBuilder(make([]byte, 0, len(sk.version)+len(sk.algIssuer)+len(sk.extsBefore)+len(sk.extsAfter)+
		len(v.rawSubject)+len(csr.RawSubjectPublicKeyInfo)+len(v.subjectKeyID)+128))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(sk.version)
		b.AddASN1BigInt(v.serial)
		b.AddBytes(sk.algIssuer)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addTime(b, v.notBefore)
			addTime(b, v.notAfter)
		})
		b.AddBytes(v.rawSubject)
		b.AddBytes(csr.RawSubjectPublicKeyInfo)
		b.AddASN1(cbasn1.Tag(3).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddBytes(sk.extsBefore)
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(oidSubjectKeyID)
					if sk.extCritical {
						b.AddASN1Boolean(true)
					}
					b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) {
						b.AddASN1OctetString(v.subjectKeyID)
					})
				})
				b.AddBytes(sk.extsAfter)
			})
		})
	})
	tbs, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: assembling the TBS: %v", ErrLint, err)
	}
	return tbs, nil
}

// newSkeleton renders shape's template for one request, has
// x509.CreateCertificate encode it under the stand-in issuer and cuts the
// TBS around the fields endEntityTBS fills in.
func (l *linter) newSkeleton(csr *x509.CertificateRequest, shape endEntityShape, v endEntity, issuer *x509.Certificate) (*tbsSkeleton, error) {
	tmpl, err := renderEndEntity(csr, shape, v)
	if err != nil {
		return nil, err
	}
	der, err := l.createCertificate(tmpl, csr.PublicKey, issuer)
	if err != nil {
		return nil, err
	}
	tbs, _, err := splitSigned(der)
	if err != nil {
		return nil, fmt.Errorf("%w: the rendered certificate: %v", ErrLint, err)
	}
	sk, err := cutSkeleton(tbs)
	if err != nil {
		return nil, fmt.Errorf("%w: the rendered TBS: %v", ErrLint, err)
	}
	return sk, nil
}

// cutSkeleton splits a v3 TBSCertificate with a subjectKeyIdentifier
// extension into a tbsSkeleton.
func cutSkeleton(tbs []byte) (*tbsSkeleton, error) {
	in := cryptobyte.String(tbs)
	var body cryptobyte.String
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errors.New("not a SEQUENCE")
	}
	sk := &tbsSkeleton{}
	var version, serial, alg, issuer, validity, subject, spki, exts cryptobyte.String
	if !body.ReadASN1Element(&version, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!body.ReadASN1(&serial, cbasn1.INTEGER) ||
		!body.ReadASN1Element(&alg, cbasn1.SEQUENCE) || !body.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
		!body.ReadASN1(&validity, cbasn1.SEQUENCE) || !body.ReadASN1(&subject, cbasn1.SEQUENCE) ||
		!body.ReadASN1(&spki, cbasn1.SEQUENCE) ||
		!body.ReadASN1(&exts, cbasn1.Tag(3).Constructed().ContextSpecific()) || !body.Empty() {
		return nil, errors.New("not version, serial, signature, issuer, validity, subject, key, extensions")
	}
	sk.version = version
	sk.algIssuer = append(append([]byte(nil), alg...), issuer...)
	var list cryptobyte.String
	if !exts.ReadASN1(&list, cbasn1.SEQUENCE) || !exts.Empty() {
		return nil, errors.New("extensions are not one SEQUENCE")
	}
	found := false
	for !list.Empty() {
		var elem cryptobyte.String
		if !list.ReadASN1Element(&elem, cbasn1.SEQUENCE) {
			return nil, errors.New("an extension is not a SEQUENCE")
		}
		ext := elem
		var e cryptobyte.String
		var id asn1.ObjectIdentifier
		if !ext.ReadASN1(&e, cbasn1.SEQUENCE) || !e.ReadASN1ObjectIdentifier(&id) {
			return nil, errors.New("an extension has no identifier")
		}
		switch {
		case id.Equal(oidSubjectKeyID) && !found:
			found = true
			if e.PeekASN1Tag(cbasn1.BOOLEAN) && !e.ReadASN1Boolean(&sk.extCritical) {
				return nil, errors.New("subjectKeyIdentifier criticality is not a BOOLEAN")
			}
		case found:
			sk.extsAfter = append(sk.extsAfter, elem...)
		default:
			sk.extsBefore = append(sk.extsBefore, elem...)
		}
	}
	if !found {
		return nil, errors.New("no subjectKeyIdentifier extension")
	}
	return sk, nil
}
