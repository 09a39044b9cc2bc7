package volume

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// inventory is the optional capability of a driver that can list the storage objects it
// holds and remove one (see driver.Object); the reconciler needs it.
type inventory interface {
	ListObjects(ctx context.Context) ([]driver.Object, error)
	DeleteObject(ctx context.Context, o driver.Object) error
}

// ReconcileStore is what the reconciler needs of the database.
type ReconcileStore interface {
	GetVolume(ctx context.Context, id string) (*resource.Volume, error)
	GetSnapshot(ctx context.Context, id string) (*resource.Snapshot, error)
	ListVolumesByHost(ctx context.Context, backendHost string, statuses []string) ([]*resource.Volume, error)
	ListSnapshotsByHost(ctx context.Context, backendHost string, statuses []string) ([]*resource.Snapshot, error)
}

// ErrNoInventory is the error of a reconciliation of a backend whose driver cannot list its
// storage.
var ErrNoInventory = errors.New("the backend's driver cannot list its storage")

// DefaultOrphanGrace is how old an orphan must be before a reconciliation that deletes
// orphans removes it, unless told otherwise.
const DefaultOrphanGrace = 10 * time.Minute

// Reconciler compares one backend's storage with the database, both ways: objects that no
// live volume or snapshot row accounts for (orphans: a crash or a lost race leaked them), and
// volumes and snapshots whose object is gone (missing). It reports both, one log line per
// finding, and deletes orphans only when asked, and then only those older than a grace
// period whose row is still absent, so that a create in flight is never touched.
type Reconciler struct {
	Host   string // host@backend
	Driver driver.Driver
	Store  ReconcileStore
	Log    logrus.FieldLogger
	// Interval is the time between two reconciliations of Loop; 0 runs only the one at start.
	Interval time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time

	mu   sync.Mutex
	last *ReconcileReport // the last reconciliation's outcome, for the capability report
	at   time.Time        // when it ran
}

// The capabilities in which a volume service reports its last reconciliation (Scoria's), so
// that an admin sees them per pool in GET /scheduler-stats/get_pools?detail=true.
const (
	CapStorageOrphans      = "storage_orphans"
	CapStorageMissing      = "storage_missing"
	CapStorageReconciledAt = "storage_reconciled_at"
)

// ReconcileOptions say what a reconciliation may do.
type ReconcileOptions struct {
	// DeleteOrphans removes the orphans older than Grace; without it nothing is deleted.
	DeleteOrphans bool
	// Grace is how long an orphan is left alone after it was made or last changed;
	// DeleteOrphans with a Grace below 0 is refused.
	Grace time.Duration
}

// Finding is one difference between the backend and the database.
type Finding struct {
	Problem string        // "orphan" or "missing"
	Object  driver.Object // the orphan; for a missing one, the object expected (Name, Kind, ID)
	Status  string        // the row's status (missing ones)
	// Outcome says what was done: "reported", "deleted", or why an orphan was kept or
	// could not be deleted.
	Outcome string
}

// The problems a finding reports.
const (
	ProblemOrphan  = "orphan"
	ProblemMissing = "missing"
)

// ReconcileReport is the outcome of one reconciliation.
type ReconcileReport struct {
	Host     string
	Objects  int // storage objects the backend holds
	Volumes  int // live volume rows on the backend
	Findings []Finding
	Deleted  int // orphans removed
}

func (r *ReconcileReport) count(problem string) int {
	n := 0
	for _, f := range r.Findings {
		if f.Problem == problem {
			n++
		}
	}
	return n
}

// Orphans is the number of orphans found (deleted or not).
func (r *ReconcileReport) Orphans() int { return r.count(ProblemOrphan) }

// Missing is the number of rows whose object is gone.
func (r *ReconcileReport) Missing() int { return r.count(ProblemMissing) }

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Loop reconciles at once and then every Interval until ctx ends, reporting only
// (it never deletes). A driver without an inventory is logged once and the loop ends.
func (r *Reconciler) Loop(ctx context.Context) {
	for {
		rctx := reqctx.With(ctx, reqctx.Context{RequestID: reqctx.NewRequestID()})
		log := reqctx.Log(rctx, r.Log).WithField("host", r.Host)
		rep, err := r.Reconcile(rctx, ReconcileOptions{})
		switch {
		case errors.Is(err, ErrNoInventory):
			log.Info("storage reconciliation off: the backend's driver cannot list its storage")
			return
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			log.WithError(err).Error("storage reconciliation failed; trying again at the next interval")
		default:
			log.WithFields(logrus.Fields{"objects": rep.Objects, "orphans": rep.Orphans(), "missing": rep.Missing()}).
				Info("storage reconciled with the database")
		}
		if r.Interval <= 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.Interval):
		}
	}
}

// Reconcile compares the backend with the database once. The order makes in-flight work
// invisible: the objects are listed, then the rows read, then the objects listed again. An
// orphan must be in both lists without a row (a row is always written before its object is
// made, and an object is removed before its row), and its row is looked up once more, on
// every host and in every status, before it is reported; a missing object must be absent
// from the second list while its row, read before and again after, says it exists.
func (r *Reconciler) Reconcile(ctx context.Context, opts ReconcileOptions) (*ReconcileReport, error) {
	ctx = reqctx.With(ctx, reqctx.From(ctx)) // a run without a request id gets one for all its lines
	inv, ok := r.Driver.(inventory)
	if !ok {
		return nil, fmt.Errorf("reconcile %s: %w", r.Host, ErrNoInventory)
	}
	if opts.DeleteOrphans && opts.Grace < 0 {
		return nil, fmt.Errorf("reconcile %s: a negative grace period (%s)", r.Host, opts.Grace)
	}
	first, err := inv.ListObjects(ctx)
	if err != nil {
		return nil, fmt.Errorf("reconcile %s: list the backend's objects: %w", r.Host, err)
	}
	vols, err := r.Store.ListVolumesByHost(ctx, r.Host, nil)
	if err != nil {
		return nil, fmt.Errorf("reconcile %s: %w", r.Host, err)
	}
	snaps, err := r.Store.ListSnapshotsByHost(ctx, r.Host, nil)
	if err != nil {
		return nil, fmt.Errorf("reconcile %s: %w", r.Host, err)
	}
	second, err := inv.ListObjects(ctx)
	if err != nil {
		return nil, fmt.Errorf("reconcile %s: list the backend's objects: %w", r.Host, err)
	}
	rep := &ReconcileReport{Host: r.Host, Objects: len(second), Volumes: len(vols)}
	orphans, err := r.orphans(ctx, first, second, vols, snaps)
	if err != nil {
		return nil, err
	}
	missing, err := r.missing(ctx, second, vols, snaps)
	if err != nil {
		return nil, err
	}
	for _, o := range orphans {
		f := Finding{Problem: ProblemOrphan, Object: o, Outcome: "reported"}
		if opts.DeleteOrphans {
			f.Outcome = r.deleteOrphan(ctx, inv, o, opts.Grace)
			if f.Outcome == "deleted" {
				rep.Deleted++
			}
		}
		r.logFinding(ctx, f)
		rep.Findings = append(rep.Findings, f)
	}
	for _, f := range missing {
		r.logFinding(ctx, f)
		rep.Findings = append(rep.Findings, f)
	}
	r.mu.Lock()
	r.last, r.at = rep, r.now().UTC()
	r.mu.Unlock()
	return rep, nil
}

// orphans returns the objects of both lists that no live row owns, not held by others,
// snapshots first (an RBD image goes only after its snapshots).
func (r *Reconciler) orphans(ctx context.Context, first, second []driver.Object, vols []*resource.Volume, snaps []*resource.Snapshot) ([]driver.Object, error) {
	owned := map[driver.ObjectKind]map[string]bool{driver.KindVolume: {}, driver.KindSnapshot: {}}
	for _, v := range vols {
		owned[driver.KindVolume][v.ID] = true
	}
	for _, sn := range snaps {
		owned[driver.KindSnapshot][sn.ID] = true
	}
	before := make(map[string]bool, len(first))
	for _, o := range first {
		before[o.Name] = true
	}
	var out []driver.Object
	for _, o := range second {
		if !before[o.Name] || o.Held || owned[o.Kind][o.ID] {
			continue
		}
		live, err := r.rowExists(ctx, o.Kind, o.ID)
		if err != nil {
			return nil, err
		}
		if !live {
			out = append(out, o)
		}
	}
	slices.SortStableFunc(out, func(a, b driver.Object) int {
		if a.Kind == b.Kind {
			return 0
		}
		if a.Kind == driver.KindSnapshot {
			return -1
		}
		return 1
	})
	return out, nil
}

// rowExists reports whether a live row of kind names id, on any host and in any status.
func (r *Reconciler) rowExists(ctx context.Context, kind driver.ObjectKind, id string) (bool, error) {
	var err error
	switch kind {
	case driver.KindVolume:
		_, err = r.Store.GetVolume(ctx, id)
	case driver.KindSnapshot:
		_, err = r.Store.GetSnapshot(ctx, id)
	default:
		return true, nil // not ours to judge: never an orphan
	}
	if errors.Is(err, resource.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reconcile %s: look up %s %s: %w", r.Host, kind, id, err)
	}
	return true, nil
}

// Statuses in which a row may have no object yet, or no longer: the object of any other
// status must exist.
var (
	volumeMayLackObject   = []string{resource.StatusCreating, resource.StatusError, resource.StatusDeleting, resource.StatusErrorDeleting}
	snapshotMayLackObject = []string{resource.SnapshotCreating, resource.SnapshotError, resource.SnapshotDeleting, resource.SnapshotErrorDeleting}
)

// missing returns the rows whose complete object is not in objs, confirmed by reading each
// row again: it must still be on this backend in a status that has an object.
func (r *Reconciler) missing(ctx context.Context, objs []driver.Object, vols []*resource.Volume, snaps []*resource.Snapshot) ([]Finding, error) {
	have := map[driver.ObjectKind]map[string]bool{driver.KindVolume: {}, driver.KindSnapshot: {}}
	for _, o := range objs {
		if !o.Temporary && have[o.Kind] != nil {
			have[o.Kind][o.ID] = true
		}
	}
	var out []Finding
	for _, v := range vols {
		if have[driver.KindVolume][v.ID] || slices.Contains(volumeMayLackObject, v.Status) {
			continue
		}
		now, err := r.Store.GetVolume(ctx, v.ID)
		if errors.Is(err, resource.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reconcile %s: %w", r.Host, err)
		}
		if slices.Contains(volumeMayLackObject, now.Status) || rpcapi.BackendHost(now.Host) != r.Host {
			continue
		}
		out = append(out, Finding{Problem: ProblemMissing, Status: now.Status, Outcome: "reported",
			Object: driver.Object{Name: driver.StorageName(v.ID), Kind: driver.KindVolume, ID: v.ID}})
	}
	for _, sn := range snaps {
		if have[driver.KindSnapshot][sn.ID] || slices.Contains(snapshotMayLackObject, sn.Status) {
			continue
		}
		if sn.GroupSnapshotID != "" { // taken in a consistent group snapshot: no object of its own
			if sr, ok := r.Driver.(driver.Snapshotter); ok {
				if exists, err := sr.SnapshotExists(ctx, driverSnapshot(sn)); err == nil && exists {
					continue
				}
			}
		}
		now, err := r.Store.GetSnapshot(ctx, sn.ID)
		if errors.Is(err, resource.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reconcile %s: %w", r.Host, err)
		}
		if slices.Contains(snapshotMayLackObject, now.Status) || rpcapi.BackendHost(now.Host) != r.Host {
			continue
		}
		out = append(out, Finding{Problem: ProblemMissing, Status: now.Status, Outcome: "reported",
			Object: driver.Object{Name: driver.SnapshotStorageName(sn.ID), Kind: driver.KindSnapshot, ID: sn.ID}})
	}
	return out, nil
}

// deleteOrphan removes orphan o when it is older than grace and its row is still absent,
// and says what it did.
func (r *Reconciler) deleteOrphan(ctx context.Context, inv inventory, o driver.Object, grace time.Duration) string {
	if o.Changed.IsZero() {
		return "kept: the backend does not tell its age"
	}
	if age := r.now().Sub(o.Changed); age < grace {
		return fmt.Sprintf("kept: changed %s ago, within the grace period of %s", age.Round(time.Second), grace)
	}
	live, err := r.rowExists(ctx, o.Kind, o.ID)
	if err != nil {
		return "kept: " + err.Error()
	}
	if live {
		return "kept: its row appeared"
	}
	if err := inv.DeleteObject(ctx, o); err != nil {
		return "delete failed: " + err.Error()
	}
	return "deleted"
}

func (r *Reconciler) logFinding(ctx context.Context, f Finding) {
	log := reqctx.Log(ctx, r.Log).WithFields(logrus.Fields{"host": r.Host, "object": f.Object.Name, string(f.Object.Kind) + "_id": f.Object.ID, "outcome": f.Outcome})
	switch f.Problem {
	case ProblemOrphan:
		fields := logrus.Fields{"size": f.Object.Size}
		if !f.Object.Changed.IsZero() {
			fields["changed"] = f.Object.Changed.UTC().Format(time.RFC3339)
		}
		log.WithFields(fields).Warn("storage orphan: no volume or snapshot row owns this object")
	case ProblemMissing:
		log.WithField("status", f.Status).Error("storage missing: the backend no longer holds this " + string(f.Object.Kind) + "'s object")
	}
}

// withFindings returns stats with the counts of the last reconciliation among the backend's
// capabilities (orphans left undeleted, missing objects, when it ran); stats as it is before
// any reconciliation or without a reconciler. stats.Extra is copied, not changed.
func (r *Reconciler) withFindings(stats driver.Stats) driver.Stats {
	if r == nil {
		return stats
	}
	r.mu.Lock()
	last, at := r.last, r.at
	r.mu.Unlock()
	if last == nil {
		return stats
	}
	extra := make(map[string]any, len(stats.Extra)+3)
	maps.Copy(extra, stats.Extra)
	extra[CapStorageOrphans] = last.Orphans() - last.Deleted
	extra[CapStorageMissing] = last.Missing()
	extra[CapStorageReconciledAt] = at.Format(time.RFC3339)
	stats.Extra = extra
	return stats
}
