package ra

import (
	"context"

	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/registry"
	"github.com/smki/smki/role"
)

// The device registry, ADT files and the SC allow-list are ra/registry's;
// ra binds each call to the authenticated officer (session) and keeps
// these names.

// ImportResult says what a device import did (registry.ImportResult).
type ImportResult = registry.ImportResult

// SubmitADT accepts an ADT file signed by the submitting officer
// (registry.Service.SubmitADT).
func (s *Service) SubmitADT(ctx context.Context, a Actor, file, sig []byte) (ADTRecord, error) {
	return s.reg.SubmitADT(ctx, session{s, a}, file, sig)
}

// WithdrawADT takes the ADT file of (sc, sup) out of force, keeping it on
// record (registry.Service.WithdrawADT).
func (s *Service) WithdrawADT(ctx context.Context, a Actor, sc, sup eui64.ID, reason string) (ADTRecord, error) {
	return s.reg.WithdrawADT(ctx, session{s, a}, sc, sup, reason)
}

// ListADT returns the accepted ADT files the officer may read, without
// their bytes (registry.Service.ListADT).
func (s *Service) ListADT(ctx context.Context, a Actor) ([]ADTRecord, error) {
	return s.reg.ListADT(ctx, session{s, a})
}

// SetAllowList replaces role r's SRV allow-list; only SC's is
// configurable (registry.Service.SetAllowList).
func (s *Service) SetAllowList(ctx context.Context, a Actor, r role.UserRole, srvs []string) (RoleAllowList, error) {
	return s.reg.SetAllowList(ctx, session{s, a}, r, srvs)
}

// Policy returns every role's effective allow-list (registry.Service.Policy).
func (s *Service) Policy(ctx context.Context, a Actor) ([]RoleAllowList, error) {
	return s.reg.Policy(ctx, session{s, a})
}

// ImportDevices registers every device of a device file in one
// transaction, all or nothing (registry.Service.ImportDevices).
func (s *Service) ImportDevices(ctx context.Context, a Actor, data []byte) (ImportResult, error) {
	return s.reg.ImportDevices(ctx, session{s, a}, data)
}

// CheckDevices is ImportDevices's dry run: what the import of data would
// do, written nowhere (registry.Service.CheckDevices).
func (s *Service) CheckDevices(ctx context.Context, a Actor, data []byte) (ImportResult, error) {
	return s.reg.CheckDevices(ctx, session{s, a}, data)
}

// ExportDevices writes the registry (or one supplier user's devices) as
// a device file ImportDevices accepts unchanged
// (registry.Service.ExportDevices).
func (s *Service) ExportDevices(ctx context.Context, a Actor, supplier eui64.ID) ([]byte, error) {
	return s.reg.ExportDevices(ctx, session{s, a}, supplier)
}

// ListDevices returns the registry, optionally of one supplier user
// (registry.Service.ListDevices).
func (s *Service) ListDevices(ctx context.Context, a Actor, supplier eui64.ID) ([]Device, error) {
	return s.reg.ListDevices(ctx, session{s, a}, supplier)
}
