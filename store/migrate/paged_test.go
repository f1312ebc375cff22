package migrate_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/smki/smki/store"
	"github.com/smki/smki/store/migrate"
)

// pagedStore's read transactions refuse to return more than max rows
// from one listing call: a reader that asks for everything at once holds
// everything in memory at once.
type pagedStore struct {
	store.Store
	max int
}

func (p pagedStore) View(ctx context.Context, fn func(store.Tx) error) error {
	return p.Store.View(ctx, func(tx store.Tx) error {
		return fn(pagedTx{Tx: tx, Exporter: tx.(store.Exporter), max: p.max})
	})
}

type pagedTx struct {
	store.Tx
	store.Exporter
	max int
}

func (p pagedTx) tooMany(what string, n int) error {
	if n > p.max {
		return fmt.Errorf("%s returned %d rows in one call (more than %d): not read a page at a time", what, n, p.max)
	}
	return nil
}

func (p pagedTx) ListCertificates(f store.CertFilter) ([]store.Certificate, error) {
	v, err := p.Tx.ListCertificates(f)
	if err == nil {
		err = p.tooMany("ListCertificates", len(v))
	}
	return v, err
}

func (p pagedTx) CertificatesIssuedSince(since uint64, limit int) ([]store.Certificate, error) {
	v, err := p.Tx.CertificatesIssuedSince(since, limit)
	if err == nil {
		err = p.tooMany("CertificatesIssuedSince", len(v))
	}
	return v, err
}

func (p pagedTx) RevocationsSince(since uint64, limit int) ([]store.Revocation, error) {
	v, err := p.Tx.RevocationsSince(since, limit)
	if err == nil {
		err = p.tooMany("RevocationsSince", len(v))
	}
	return v, err
}

func (p pagedTx) ListRecords(kind, after string, limit int) ([]store.Record, error) {
	v, err := p.Tx.ListRecords(kind, after, limit)
	if err == nil {
		err = p.tooMany("ListRecords", len(v))
	}
	return v, err
}

// TestDigestAndCopyReadInPages: Digest and Copy read certificates,
// revocations and records a page at a time, so a store of a million
// certificates is not held in memory whole (100,000 took 1 GB to migrate,
// 600 MB to digest), and the paged reads give the same digest.
func TestDigestAndCopyReadInPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := openBolt(t)
	fill(t, src, 3100) // about 1,030 revoked
	err := src.Update(ctx, func(tx store.Tx) error {
		for i := range 2100 {
			if err := tx.PutRecord("device", fmt.Sprintf("d%05d", i), []byte("x")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	paged := pagedStore{Store: src, max: 1000}
	a, err := migrate.Digest(ctx, paged)
	if err != nil {
		t.Fatalf("Digest: %v", err)
	}
	dst := openBolt(t)
	if err := migrate.Copy(ctx, paged, dst); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	b, err := migrate.Digest(ctx, dst)
	if err != nil || !slices.Equal(a, b) {
		t.Fatalf("the copy's digest differs: %v\n%v\n%v", err, a, b)
	}
}
