package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/eui64"
	"github.com/smki/smki/ra/authz"
	"github.com/smki/smki/ra/devicefile"
	"github.com/smki/smki/ra/raerr"
	"github.com/smki/smki/ra/records"
	"github.com/smki/smki/role"
	"github.com/smki/smki/store"
)

// ImportResult says what a device import did, or would do (DryRun).
type ImportResult struct {
	Devices int  `json:"devices"`           // lines imported
	Added   int  `json:"added"`             // devices not registered before
	Changed int  `json:"changed"`           // devices whose supplier or SMETS changed
	Removed int  `json:"removed"`           // devices removed, or given the time they leave (removals file)
	DryRun  bool `json:"dry_run,omitempty"` // CheckDevices: what the import would do; nothing was written
}

// Summary says what the import did, or for a dry run would do, in the
// one wording the CLI (smki devices import) and the console both show:
// "imported N device(s): A new, C changed" (removals: "R removed (or
// leaving at effective_to)"), a dry run "dry run: would import ...;
// nothing was written".
func (r ImportResult) Summary() string {
	did, after := "imported", ""
	if r.DryRun {
		did, after = "dry run: would import", "; nothing was written"
	}
	if r.Removed > 0 {
		return fmt.Sprintf("%s %d device(s): %d removed (or leaving at effective_to)%s", did, r.Devices, r.Removed, after)
	}
	return fmt.Sprintf("%s %d device(s): %d new, %d changed%s", did, r.Devices, r.Added, r.Changed, after)
}

// ImportDevices registers every device of a device file in one
// transaction, all or nothing: an ra-operator only; every supplier user
// must exist and be a supplier user (IS, ES, GS), and every other
// registrant a user whose role registers in that capacity
// (policy.DefaultDeviceRules: ES export supplier, RSA supplier agent, ED
// or GT network operator), else the error names the line. A device
// already registered is re-registered (change of supplier); its other
// registrations merge (mergeRegistrations). A change of supplier with a
// future effective_from keeps the old supplier registered until then
// (supplierChange). A removals file removes each device (it must be
// registered) at once, or records when it leaves (Device.Until). The audit
// record holds the counts and the file's SHA-256.
func (s *Service) ImportDevices(ctx context.Context, a Session, data []byte) (ImportResult, error) {
	rows, err := devicefile.Parse(data)
	if err != nil {
		a.Refused(ctx, authz.ActImportDevice, "devices", err)
		return ImportResult{}, wholeFile(err)
	}
	var res ImportResult
	err = a.Change(ctx, authz.ActImportDevice, "devices", func(tx store.Tx, me store.Officer) (string, error) {
		var err error
		if res, err = s.apply(tx, me, rows, true); err != nil {
			return "", err
		}
		sum := sha256.Sum256(data)
		return fmt.Sprintf("devices=%d added=%d changed=%d removed=%d sha256=%s", res.Devices, res.Added, res.Changed, res.Removed, hex.EncodeToString(sum[:])), nil
	})
	if err != nil {
		return ImportResult{}, wholeFile(err)
	}
	return res, nil
}

// CheckDevices is ImportDevices's dry run (smki devices import
// --dry-run): the same officer, the same file, the same checks on the
// registry as it stands, answered with what the import would do, in a
// read transaction that writes nothing; audited as a read of the import
// (subject devices:dry-run), a refusal as the import's. Each device is on
// one line (devicefile.Parse), so no line reads what another would have
// written, and the counts are the import's.
func (s *Service) CheckDevices(ctx context.Context, a Session, data []byte) (ImportResult, error) {
	const subject = "devices:dry-run"
	rows, err := devicefile.Parse(data)
	if err != nil {
		a.Refused(ctx, authz.ActImportDevice, subject, err)
		return ImportResult{}, wholeFile(err)
	}
	var res ImportResult
	err = a.Read(ctx, authz.ActImportDevice, subject, func(tx store.Tx, me store.Officer) error {
		var err error
		res, err = s.apply(tx, me, rows, false)
		return err
	})
	if err != nil {
		return ImportResult{}, wholeFile(err)
	}
	return res, nil
}

// apply is one import of rows by me in tx: the decision, and with write
// the registry's records; without, what they would be (CheckDevices).
func (s *Service) apply(tx store.Tx, me store.Officer, rows []devicefile.Row, write bool) (ImportResult, error) {
	if err := authz.Authorize(me, authz.ActImportDevice, authz.Target{}); err != nil {
		return ImportResult{}, err
	}
	res := ImportResult{Devices: len(rows), DryRun: !write}
	suppliers := map[eui64.ID]error{}
	registrants := map[string]error{}
	now := s.now().UTC()
	for _, r := range rows {
		if r.Remove {
			if err := removeDevice(tx, r, me.ID, now, write); err != nil {
				return res, err
			}
			res.Removed++
			continue
		}
		serr, ok := suppliers[r.SupplierUser]
		if !ok {
			serr = checkSupplierUser(tx, r.SupplierUser)
			suppliers[r.SupplierUser] = serr
		}
		if serr != nil {
			return res, fmt.Errorf("%w: line %d: %v", raerr.ErrDeviceFile, r.Line, serr)
		}
		for _, reg := range r.Registrations {
			if reg.User.IsZero() {
				continue // "-": the registration ends
			}
			k := string(reg.Capacity) + "/" + reg.User.String()
			rerr, ok := registrants[k]
			if !ok {
				rerr = checkRegistrant(tx, reg.Capacity, reg.User)
				registrants[k] = rerr
			}
			if rerr != nil {
				return res, fmt.Errorf("%w: line %d: %v", raerr.ErrDeviceFile, r.Line, rerr)
			}
		}
		old, err := records.GetDevice(tx, r.Device)
		notFound := records.IsNotFound(err)
		if err != nil && !notFound {
			return res, err
		}
		add := slices.Clone(r.Registrations)
		for i := range add {
			if add[i].User.IsZero() && add[i].From.IsZero() {
				// "-" with no effective_from: ended at once, or
				// when it already ended (the same file again).
				add[i].From = now
				if at, ended := endedBy(old.Registrations, add[i].Capacity, now); ended {
					add[i].From = at
				}
			}
		}
		if !notFound && old.SupplierUser != r.SupplierUser {
			if add, err = supplierChange(tx, old, r, add, now); err != nil {
				return res, fmt.Errorf("%w: line %d: %v", raerr.ErrDeviceFile, r.Line, err)
			}
		}
		regs, err := mergeRegistrations(old.Registrations, add, now)
		if err != nil {
			return res, fmt.Errorf("%w: line %d: %v", raerr.ErrDeviceFile, r.Line, err)
		}
		switch {
		case notFound:
			res.Added++
		case old.SupplierUser != r.SupplierUser || old.SMETS != r.SMETS || !slices.Equal(old.Registrations, regs) || !old.Until.IsZero():
			res.Changed++
		default:
			// As recorded: nothing to write, and the record keeps naming
			// the import that made it what it is (a file sent again
			// rewrote every record, a million at a time).
			continue
		}
		if !write {
			continue
		}
		d := records.Device{Device: r.Device, SupplierUser: r.SupplierUser, SMETS: r.SMETS, ImportedBy: me.ID, ImportedAt: now, Registrations: regs}
		if err := tx.PutRecord(records.KindDevice, r.Device.String(), records.EncodeDevice(d)); err != nil {
			return res, fmt.Errorf("%w: device %s: %w", raerr.ErrInternal, r.Device, err)
		}
	}
	return res, nil
}

// wholeFile says, on a device file refused for one of its lines, that the
// import is all or nothing, so that the operator sends the whole file
// again rather than the lines after the one named.
func wholeFile(err error) error {
	if errors.Is(err, raerr.ErrDeviceFile) {
		return fmt.Errorf("%w; nothing was imported: correct the file and import all of it again", err)
	}
	return err
}

// removeDevice applies one line of a removals file: the device must be
// registered; it is deleted at once when effective_to is empty or not
// after now, else it keeps its registrations until then (Until).
func removeDevice(tx store.Tx, r devicefile.Row, by string, now time.Time, write bool) error {
	old, err := records.GetDevice(tx, r.Device)
	if records.IsNotFound(err) {
		return fmt.Errorf("%w: line %d: device %s is not registered: removed already (a removals file sent again?) or never imported; smki devices list shows the registry", raerr.ErrDeviceFile, r.Line, r.Device)
	}
	if err != nil || !write {
		return err
	}
	if !r.EffectiveFrom.After(now) {
		if err := tx.DeleteRecord(records.KindDevice, r.Device.String()); err != nil {
			return fmt.Errorf("%w: device %s: %w", raerr.ErrInternal, r.Device, err)
		}
		return nil
	}
	old.Until, old.ImportedBy, old.ImportedAt = r.EffectiveFrom, by, now
	if err := tx.PutRecord(records.KindDevice, r.Device.String(), records.EncodeDevice(old)); err != nil {
		return fmt.Errorf("%w: device %s: %w", raerr.ErrInternal, r.Device, err)
	}
	return nil
}

// supplierChange adds to add what a change of the device's supplier user
// (old.SupplierUser to r.SupplierUser) needs besides the new
// supplier_user. With an effective_from after now, the old supplier stays
// the registrant in its capacity until then: an entry for it (when the
// device has none in that capacity yet, the supplier_user having stood
// for it) and the new supplier's from effective_from; both suppliers must
// register in one capacity (the device is one fuel's meter). At once, an
// entry for the new supplier from now overrides any stored in its
// capacity (a pending change among them), and the old capacity, if
// another, ends now.
func supplierChange(tx store.Tx, old records.Device, r devicefile.Row, add []bundle.Registration, now time.Time) ([]bundle.Registration, error) {
	capNew, err := supplierCapacity(tx, r.SupplierUser)
	if err != nil {
		return nil, err
	}
	capOld, err := supplierCapacity(tx, old.SupplierUser)
	if err != nil {
		capOld = capNew // the old supplier user is gone: nothing of it to keep
	}
	has := func(c policy.Capacity) bool {
		return slices.ContainsFunc(old.Registrations, func(g bundle.Registration) bool { return g.Capacity == c })
	}
	if r.EffectiveFrom.After(now) {
		if capOld != capNew {
			return nil, fmt.Errorf("a change of supplier from %s (%s) to %s (%s) at a future effective_from must stay in one capacity",
				old.SupplierUser, capOld, r.SupplierUser, capNew)
		}
		if !has(capOld) {
			add = append(add, bundle.Registration{Capacity: capOld, User: old.SupplierUser})
		}
		return append(add, bundle.Registration{Capacity: capNew, User: r.SupplierUser, From: r.EffectiveFrom}), nil
	}
	if has(capNew) {
		add = append(add, bundle.Registration{Capacity: capNew, User: r.SupplierUser, From: now})
	}
	if capOld != capNew && has(capOld) {
		add = append(add, bundle.Registration{Capacity: capOld, From: now})
	}
	return add, nil
}

// supplierCapacity is the capacity supplier user id registers in.
func supplierCapacity(tx store.Tx, id eui64.ID) (policy.Capacity, error) {
	u, err := tx.GetUser(id.String())
	if err != nil {
		return "", err
	}
	c, ok := policy.DefaultDeviceRules().CapacityOf(role.UserRole(u.Role))
	if !ok {
		return "", fmt.Errorf("user %s has User Role %s, which registers in no capacity", id, u.Role)
	}
	return c, nil
}

func checkSupplierUser(tx store.Tx, id eui64.ID) error {
	u, err := tx.GetUser(id.String())
	if err != nil {
		if records.IsNotFound(err) {
			return fmt.Errorf("supplier user %s is unknown: create it first (smki user create) or correct the line", id)
		}
		return err
	}
	if !records.IsSupplierRole(u.Role) {
		return fmt.Errorf("user %s has User Role %s, not a supplier role (IS, ES, GS)", id, u.Role)
	}
	return nil
}

// checkRegistrant: id is a user whose role registers in capacity c.
func checkRegistrant(tx store.Tx, c policy.Capacity, id eui64.ID) error {
	u, err := tx.GetUser(id.String())
	if err != nil {
		if records.IsNotFound(err) {
			return fmt.Errorf("%s user %s is unknown: create it first (smki user create) or correct the line", c, id)
		}
		return err
	}
	if got, ok := policy.DefaultDeviceRules().CapacityOf(role.UserRole(u.Role)); !ok || got != c {
		return fmt.Errorf("user %s has User Role %s, which is not registered as %s", id, u.Role, c)
	}
	return nil
}

// endedBy reports whether the registration in capacity c of regs has
// already ended at now, with no change to come, and when: a "-" cell
// without effective_from then leaves it as it is rather than ending it
// again, so that a file imported twice changes nothing.
func endedBy(regs []bundle.Registration, c policy.Capacity, now time.Time) (time.Time, bool) {
	var last *bundle.Registration
	for i, g := range regs {
		if g.Capacity != c {
			continue
		}
		if g.From.After(now) {
			return time.Time{}, false
		}
		if last == nil || g.From.After(last.From) {
			last = &regs[i]
		}
	}
	if last == nil || !last.User.IsZero() {
		return time.Time{}, false
	}
	return last.From, true
}

// mergeRegistrations applies a device file row's registrations to the
// stored ones: in each capacity the row names, the stored entries taking
// effect before the new one's From stay (until it takes effect), later
// ones are replaced. Then, per capacity, entries already superseded at
// now are dropped, and the rest ordered by capacity and From. At most bundle.MaxRegistrations remain, else an error.
func mergeRegistrations(old, add []bundle.Registration, now time.Time) ([]bundle.Registration, error) {
	if len(add) == 0 {
		return old, nil
	}
	var out []bundle.Registration
	for _, o := range old {
		keep := true
		for _, a := range add {
			if o.Capacity == a.Capacity && !o.From.Before(a.From) {
				keep = false
			}
		}
		if keep {
			out = append(out, o)
		}
	}
	out = append(out, add...)
	compact := current(out, now)
	// One order whatever the order of the files that made them (by
	// capacity, then From): the same registrations are the same record,
	// so a file imported again (an export among them) changes nothing.
	slices.SortStableFunc(compact, func(a, b bundle.Registration) int {
		if c := strings.Compare(string(a.Capacity), string(b.Capacity)); c != 0 {
			return c
		}
		return a.From.Compare(b.From)
	})
	if len(compact) > bundle.MaxRegistrations {
		return nil, fmt.Errorf("device would have %d registrations, at most %d", len(compact), bundle.MaxRegistrations)
	}
	return compact, nil
}

// current is regs without what is superseded at now: an entry in force
// (From <= now) that another entry in force in its capacity, with a later
// From, replaces. What a device's registrant was before now is not kept.
func current(regs []bundle.Registration, now time.Time) []bundle.Registration {
	compact := regs[:0:0]
	for i, o := range regs {
		superseded := false
		for j, p := range regs {
			if i != j && p.Capacity == o.Capacity && !p.From.After(now) && p.From.After(o.From) {
				superseded = true
			}
		}
		if !superseded {
			compact = append(compact, o)
		}
	}
	return compact
}

// ListDevices returns the registry, optionally of one supplier user. RA
// officers see every device; party officers only those of their own
// party's supplier users, and must name one (--supplier): another party's
// user is, to them, no user (authz.Hidden).
func (s *Service) ListDevices(ctx context.Context, a Session, supplier eui64.ID) ([]records.Device, error) {
	subject := "devices"
	if !supplier.IsZero() {
		subject = "devices:supplier:" + supplier.String()
	}
	var out []records.Device
	err := s.readDevices(ctx, a, supplier, subject, func(ds []records.Device) error { out = ds; return nil })
	return out, err
}

// ExportDevices writes the devices ListDevices would list (the same
// officers may) as a device file (devicefile.Format) that ImportDevices
// accepts unchanged: importing it adds and changes nothing. Each device
// is one line: its supplier user and SMETS, and its other registrants in
// force now, all taking effect at one effective_from. A device the file
// cannot carry exactly (a change of registrant still to come, registrants
// from different times, a removal to come) refuses the whole export
// (ErrDeviceExport, naming the first few and when they can be exported):
// a file that looked like the registry but was not would, imported, undo
// those changes. Audited as a read of devices:export.
func (s *Service) ExportDevices(ctx context.Context, a Session, supplier eui64.ID) ([]byte, error) {
	subject := "devices:export"
	if !supplier.IsZero() {
		subject += ":supplier:" + supplier.String()
	}
	now := s.now().UTC()
	var out []byte
	err := s.readDevices(ctx, a, supplier, subject, func(ds []records.Device) error {
		if len(ds) == 0 {
			return fmt.Errorf("%w: no devices to export: a device file holds at least one", raerr.ErrNotFound)
		}
		rows := make([]devicefile.Row, 0, len(ds))
		var why []string
		for _, d := range ds {
			r, err := exportRow(d, now)
			if err != nil {
				if len(why) < 5 {
					why = append(why, err.Error())
				}
				continue
			}
			rows = append(rows, r)
		}
		if len(why) > 0 {
			return fmt.Errorf("%w: %d device(s) cannot be written exactly as a device file (%s): nothing was exported; export again once the changes named have taken effect, or read these devices with smki devices list --json",
				raerr.ErrDeviceExport, len(ds)-len(rows), strings.Join(why, "; "))
		}
		var err error
		out, err = devicefile.Format(rows)
		if err != nil {
			return fmt.Errorf("%w: %w", raerr.ErrInternal, err)
		}
		return nil
	})
	return out, err
}

// exportRow is d's line in an export at now, or why d has none. Its
// registrations in force (current) must not change after now, and d
// must not be leaving the registry. The line's effective_from is empty
// when every registrant in force has been since always (From zero) and
// the rest have ended: "-" without effective_from, which an import into
// a registry where it has ended leaves as it is (endedBy), and one into
// an empty registry ends at once. Else every registration must take
// effect at one time, the line's effective_from.
func exportRow(d records.Device, now time.Time) (devicefile.Row, error) {
	r := devicefile.Row{Device: d.Device, SupplierUser: d.SupplierUser, SMETS: d.SMETS, Registrations: current(d.Registrations, now)}
	if !d.Until.IsZero() {
		return r, fmt.Errorf("%s leaves the registry at %s", d.Device, d.Until.UTC().Format(time.RFC3339))
	}
	sinceAlways := true
	for _, g := range r.Registrations {
		if g.From.After(now) {
			return r, fmt.Errorf("%s changes its %s registration at %s", d.Device, g.Capacity, g.From.UTC().Format(time.RFC3339))
		}
		if !g.User.IsZero() && !g.From.IsZero() {
			sinceAlways = false
		}
	}
	if sinceAlways {
		r.Registrations = slices.Clone(r.Registrations)
		for i := range r.Registrations {
			r.Registrations[i].From = time.Time{}
		}
		return r, nil
	}
	for _, g := range r.Registrations {
		if !g.From.Equal(r.Registrations[0].From) {
			return r, fmt.Errorf("%s has registrations from different times (%s, %s)", d.Device,
				r.Registrations[0].From.UTC().Format(time.RFC3339), g.From.UTC().Format(time.RFC3339))
		}
	}
	r.EffectiveFrom = r.Registrations[0].From
	return r, nil
}

// readDevices is ListDevices's read, audited as subject: fn gets the
// devices me may read (of supplier, or every one for RA officers).
func (s *Service) readDevices(ctx context.Context, a Session, supplier eui64.ID, subject string, fn func([]records.Device) error) error {
	return a.Read(ctx, authz.ActReadDevices, subject, func(tx store.Tx, me store.Officer) error {
		pid := ""
		if !supplier.IsZero() {
			// Another party's user and none get one answer to a party
			// officer (authz.Hidden).
			u, err := tx.GetUser(supplier.String())
			if err != nil {
				return authz.Hidden(me, "user", supplier.String(), raerr.FromStore("user "+supplier.String(), err))
			}
			pid = u.PartyID
		}
		if pid == "" && !authz.IsRAKind(me.Kind) {
			return fmt.Errorf("%w: %s %s may list only the devices of its own party's supplier users", raerr.ErrForbidden, me.Kind, me.ID)
		}
		if err := authz.Hidden(me, "user", supplier.String(), authz.Authorize(me, authz.ActReadDevices, authz.Target{PartyID: pid})); err != nil {
			return err
		}
		all, err := records.ListDevices(tx)
		if err != nil {
			return err
		}
		out := []records.Device{}
		for _, d := range all {
			if supplier.IsZero() || d.SupplierUser == supplier {
				out = append(out, d)
			}
		}
		return fn(out)
	})
}
