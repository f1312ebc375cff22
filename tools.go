//go:build tools

// Package tools pins modules that packages of this repository are about to
// import, so parallel work does not race on go.mod. Removed once each
// module has a real importer.
package tools

import (
	_ "github.com/jackc/pgx/v5"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/russellhaering/goxmldsig"
	_ "github.com/beevik/etree"
	_ "github.com/smallstep/certificates/cas/apiv1"
	_ "github.com/smallstep/certificates/cas/softcas"
	_ "github.com/urfave/cli/v2"
	_ "github.com/zmap/zlint/v3"
	_ "go.etcd.io/bbolt"
	_ "go.step.sm/crypto/kms"
	_ "go.step.sm/crypto/kms/pkcs11"
	_ "go.step.sm/crypto/kms/softkms"
	_ "go.step.sm/crypto/x509util"
	_ "golang.org/x/term"
	_ "github.com/jackc/pgx/v5/pgxpool"
)
