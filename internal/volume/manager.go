// Package volume is the scoria-volume service: one Manager per enabled backend
// (host@backend) that drives its storage through a driver.Driver, reports the backend's
// capabilities to the schedulers, makes and removes group snapshots (consistently through a
// driver.GroupSnapshotter, else member by member), at start finishes or fails whatever a
// crash left in flight, and compares the backend's storage with the database (Reconciler).
// It also creates, updates and deletes the generic volume groups placed on its backend
// (groups.go). A backend's queue is served through one RPC routing table (routes.go), and
// every handler that acts on one object starts with the same preamble (preamble.go): drop
// the message when the object is gone, moved on, or placed on another backend. Every driver
// call is told the object's driver data (what the driver returned when it made it, kept with
// the row by the update that finishes the create), and a volume's type's extra specs and
// metadata (driverdata.go).
package volume

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// Store is what the volume service needs of the database.
type Store interface {
	GetVolume(ctx context.Context, id string) (*resource.Volume, error)
	TransitionVolume(ctx context.Context, id string, from []string, ch resource.VolumeChange, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	DestroyVolume(ctx context.Context, id string, from []string) error
	ListVolumesByHost(ctx context.Context, backendHost string, statuses []string) ([]*resource.Volume, error)
	lifecycleStore
	groupStore
	groupSnapshotStore
	driverDataStore
	imageStore
	imageCacheStore
	backupStore
}

// Manager serves one backend.
type Manager struct {
	Host           string // host@backend
	Zone           string // backend availability zone
	Driver         driver.Driver
	Store          Store
	Transport      rpc.Transport
	Log            logrus.FieldLogger
	ReportInterval time.Duration // how often capabilities are fanned out (periodic_interval)
	// FilterFunction and GoodnessFunction are the backend's filter_function and
	// goodness_function options, reported to the scheduler in place of the driver's own.
	FilterFunction, GoodnessFunction string
	// Target, when set, exports the backend's local devices to hosts (target_helper); without
	// it a local device is attached as os-brick's "local" connection on this host.
	Target Exporter
	// Ready, when set, runs once the backend is set up and recovered (e.g. to start the
	// heartbeat, so that a backend that cannot start shows as down).
	Ready func(ctx context.Context)
	// Reconciler, when set, compares the backend with the database once the service is
	// ready and then every Reconciler.Interval, reporting what differs (reconcile.go).
	Reconciler *Reconciler
	// Images, when set, lets the backend make volumes from Glance images and upload volumes
	// to them (images.go).
	Images *Images
	// ServiceDownTime is service_down_time: how old a backup service's heartbeat may be for
	// a volume made from a backup to be restored by it (default 60s).
	ServiceDownTime time.Duration

	reportMu sync.Mutex
	// lastGood is the last report the driver's Stats made (nil until one works): what a
	// report says while Stats fails, with the capacity unknown and the backend down.
	lastGood *driver.Stats
	// statsDown is whether the last report was such a down report.
	statsDown bool

	// noInternalTenant logs once that the image-volume cache is on without an internal tenant.
	noInternalTenant sync.Once

	// locks serialises the create and the delete of each volume.
	locks volumeLocks

	routerOnce sync.Once
	router     *rpc.Router // Routes, made on the first message
}

// Run sets the backend up (retrying with backoff while it is unusable), recovers volumes left
// in flight, and serves the backend's queue until ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	log := m.Log.WithField("host", m.Host)
	b := backoff.NewExponentialBackOff()
	b.MaxInterval = 30 * time.Second
	b.MaxElapsedTime = 0
	err := backoff.RetryNotify(func() error { return m.setupBackend(ctx) }, backoff.WithContext(b, ctx),
		func(err error, next time.Duration) {
			log.WithError(err).WithField("retry_in", next.Round(time.Second)).Error("backend is not usable; the service stays down")
		})
	if err != nil {
		return fmt.Errorf("set up backend %s: %w", m.Host, err)
	}
	if err := m.Recover(ctx); err != nil {
		return fmt.Errorf("recover backend %s: %w", m.Host, err)
	}
	if err := m.recoverTargets(ctx); err != nil {
		log.WithError(err).Error("could not reconcile the backend's targets; continuing")
	}
	if m.Ready != nil {
		m.Ready(ctx)
	}
	go m.reportLoop(ctx)
	if m.Reconciler != nil {
		go m.Reconciler.Loop(ctx)
	}
	log.Info("volume service started")
	return m.Transport.Serve(ctx, rpc.Target{Topic: rpc.TopicVolume, Server: m.Host}, m.Handle)
}

// CreateVolume makes the storage of a volume placed here. A failure is handed back to the
// scheduler, which tries another pool or sets the volume to error.
func (m *Manager) CreateVolume(ctx context.Context, args rpcapi.CreateVolumeArgs) error {
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "volume_id": args.VolumeID})
	defer m.locks.lock(args.VolumeID)()
	v, ok, err := m.volumes().load(ctx, log, rpcapi.CreateVolume, args.VolumeID, resource.StatusCreating)
	if !ok {
		return err
	}
	if v.SnapshotID != "" || v.SourceVolID != "" { // made from a snapshot or a clone
		return m.createFromSource(ctx, log, v)
	}
	if args.BackupID != "" { // made from a backup, restored by a backup service (backup_device.go)
		return m.createFromBackup(ctx, log, v, args.BackupID)
	}
	if args.ImageID != "" { // made from a Glance image (image_create.go)
		if err := m.createFromImage(ctx, log, v, args.ImageID); errors.Is(err, errBackendCreate) {
			log.WithError(err).Error("create failed on the backend; handing the volume back to the scheduler")
			args.TriedHosts = append(args.TriedHosts, v.Host)
			args.LastError = err.Error()
			return m.Transport.Cast(ctx, rpcapi.SchedulerTarget(), rpcapi.CreateVolume, args)
		} else if err != nil {
			return err
		}
		return nil
	}
	start := time.Now()
	dv, err := m.driverVolume(ctx, v)
	if err != nil {
		return err
	}
	p, err := m.create(ctx, dv)
	if err != nil {
		log.WithError(err).Error("create failed on the backend; handing the volume back to the scheduler")
		args.TriedHosts = append(args.TriedHosts, v.Host)
		args.LastError = err.Error()
		return m.Transport.Cast(ctx, rpcapi.SchedulerTarget(), rpcapi.CreateVolume, args)
	}
	if err := m.finishCreate(ctx, v, p); err != nil {
		return err
	}
	log.WithField("duration", time.Since(start).Round(time.Microsecond)).Info("volume created")
	return nil
}

// create runs the driver's create of dv and returns its data as the row keeps it.
func (m *Manager) create(ctx context.Context, dv driver.Volume) (resource.ProviderData, error) {
	d, err := m.Driver.Create(ctx, dv)
	if err != nil {
		return resource.ProviderData{}, err
	}
	return providerData(d)
}

// finishCreate moves v, whose storage was just made, from creating to available, keeping p,
// what the driver returned, in the same update (a create run again overwrites it). A volume
// whose row went meanwhile has nothing left to own the storage: it is removed here. (One
// moved to deleting keeps it: its delete_volume, serialised after this create, removes it.)
func (m *Manager) finishCreate(ctx context.Context, v *resource.Volume, p resource.ProviderData) error {
	id := v.ID
	_, err := m.Store.TransitionVolume(ctx, id, []string{resource.StatusCreating}, resource.VolumeChange{Status: resource.StatusAvailable, Provider: &p})
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "volume_id": id})
	if errors.Is(err, resource.ErrNotFound) {
		dv, derr := m.driverVolume(ctx, v)
		if derr == nil {
			dv.Data = driverData(p)
			derr = m.Driver.Delete(ctx, dv)
		}
		if derr != nil {
			return fmt.Errorf("remove the storage of volume %s, deleted while it was made: %w", id, derr)
		}
		log.Warn("volume deleted while its storage was made; the storage is removed")
		return nil
	}
	if errors.Is(err, resource.ErrInvalidState) {
		log.WithError(err).Warn("volume changed while its storage was made")
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark volume %s available: %w", id, err)
	}
	return nil
}

// DeleteVolume removes the storage of a volume in deleting, then its row.
func (m *Manager) DeleteVolume(ctx context.Context, id string) error {
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "volume_id": id})
	defer m.locks.lock(id)()
	// Wherever it is placed, as it always was: the API sends the delete to the volume's host.
	v, ok, err := m.volumes().anywhere().load(ctx, log, rpcapi.DeleteVolume, id, resource.StatusDeleting)
	if !ok {
		return err
	}
	snapsGone, err := m.deleteSnapshotsOf(ctx, log, v) // a cascade delete
	if err != nil {
		return err
	}
	dv, err := m.driverVolume(ctx, v)
	if err != nil {
		return err
	}
	if !snapsGone {
		err = errors.New("a snapshot of the volume is left")
	} else if err = m.unexportForDelete(ctx, dv); err == nil {
		err = m.Driver.Delete(ctx, dv)
	}
	if err != nil {
		log.WithError(err).Error("delete failed on the backend")
		_, terr := m.Store.TransitionVolume(ctx, id, []string{resource.StatusDeleting}, resource.VolumeChange{Status: resource.StatusErrorDeleting})
		if terr != nil && !errors.Is(terr, resource.ErrInvalidState) && !errors.Is(terr, resource.ErrNotFound) {
			return fmt.Errorf("mark volume %s error_deleting: %w", id, terr)
		}
		return nil
	}
	if err := m.Store.DestroyVolume(ctx, id, []string{resource.StatusDeleting}); err != nil &&
		!errors.Is(err, resource.ErrInvalidState) && !errors.Is(err, resource.ErrNotFound) {
		return fmt.Errorf("destroy volume %s: %w", id, err)
	}
	log.Info("volume deleted")
	return nil
}

// Recover finishes what this backend left in flight when its service stopped: a volume in
// creating is created (the driver's create, or copy from its source, is idempotent) and
// becomes available, or error when that fails; a volume in deleting is deleted again (its
// snapshots first); an extend or a revert is finished, or failed; then the group snapshots
// (recoverGroupSnapshots), the snapshots (see recoverSnapshots) and the groups
// (recoverGroups). A volume being made from an image (in creating or downloading, marked so)
// is made again; a re-image left in downloading goes to error; an upload left in uploading
// is ended, its unfinished image deleted; leftover temporary image files are removed
// (image_create.go, image_upload.go).
func (m *Manager) Recover(ctx context.Context) error {
	m.cleanTempImages(m.Log.WithField("host", m.Host))
	vols, err := m.Store.ListVolumesByHost(ctx, m.Host, []string{resource.StatusCreating, resource.StatusDeleting,
		resource.StatusExtending, resource.StatusReverting, resource.StatusDownloading, resource.StatusUploading})
	if err != nil {
		return fmt.Errorf("list volumes in flight: %w", err)
	}
	for _, v := range vols {
		rctx := reqctx.With(ctx, reqctx.Context{RequestID: reqctx.NewRequestID(), UserID: v.UserID, ProjectID: v.ProjectID})
		log := reqctx.Log(rctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "volume_id": v.ID, "status": v.Status})
		switch v.Status {
		case resource.StatusCreating:
			if restoring, err := m.restoringInto(rctx, v.ID); err != nil {
				return err
			} else if restoring { // made from a backup: its backup service ends it
				continue
			}
			if v.SnapshotID != "" || v.SourceVolID != "" {
				if err := m.createFromSource(rctx, log, v); err != nil {
					return err
				}
				continue
			}
			imageID, _, err := m.imageOfVolume(rctx, v)
			if err != nil {
				return err
			}
			if imageID != "" {
				if err := m.recoverDownloading(rctx, log, v); err != nil {
					return err
				}
				continue
			}
			dv, err := m.driverVolume(rctx, v)
			if err != nil {
				return err
			}
			p, err := m.create(rctx, dv)
			if err != nil {
				log.WithError(err).Error("recovery: could not finish the create; volume set to error")
				if _, err := m.Store.TransitionVolume(rctx, v.ID, []string{resource.StatusCreating}, resource.VolumeChange{Status: resource.StatusError}); err != nil &&
					!errors.Is(err, resource.ErrInvalidState) {
					return fmt.Errorf("set volume %s to error: %w", v.ID, err)
				}
				continue
			}
			if err := m.finishCreate(rctx, v, p); err != nil {
				return err
			}
			log.Info("recovery: create finished")
		case resource.StatusDeleting:
			if err := m.DeleteVolume(rctx, v.ID); err != nil {
				return err
			}
			log.Info("recovery: delete finished")
		case resource.StatusExtending:
			if err := m.recoverExtend(rctx, log, v); err != nil {
				return err
			}
		case resource.StatusReverting:
			if err := m.recoverRevert(rctx, log, v); err != nil {
				return err
			}
		case resource.StatusDownloading:
			if err := m.recoverDownloading(rctx, log, v); err != nil {
				return err
			}
		case resource.StatusUploading:
			if err := m.recoverUploading(rctx, log, v); err != nil {
				return err
			}
		}
	}
	if err := m.recoverGroupSnapshots(ctx); err != nil {
		return err
	}
	if err := m.recoverSnapshots(ctx); err != nil {
		return err
	}
	return m.recoverGroups(ctx)
}

func (m *Manager) reportLoop(ctx context.Context) {
	interval := m.ReportInterval
	if interval <= 0 {
		interval = 60 * time.Second
	}
	m.report(ctx)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.report(ctx)
		}
	}
}

// report fans this backend's capabilities out to the schedulers. When the driver cannot
// read them (the storage is unreachable) after a good report, it reports the backend down
// (see downStats), as Cinder's RBD driver does when rados fails, so that the schedulers stop
// placing volumes there while the service's heartbeat stays fresh; the next good read reports
// it up again. Before any good read there is nothing to report: the schedulers do not know
// the backend yet and place nothing there.
func (m *Manager) report(ctx context.Context) {
	m.reportMu.Lock()
	defer m.reportMu.Unlock()
	log := m.Log.WithField("host", m.Host)
	stats, err := m.Driver.Stats(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		return // stopping: the failure is ours, not the backend's
	case err != nil && m.lastGood == nil:
		log.WithError(err).Error("could not read backend capacity; nothing reported yet, so nothing to report")
		return
	case err != nil:
		log.WithError(err).Error("could not read backend capacity; reporting the backend down with unknown capacity")
		stats, m.statsDown = downStats(*m.lastGood, err), true
	default:
		stats = m.Reconciler.withFindings(withOperations(stats, m.Driver))
		good := stats
		m.lastGood = &good
		if m.statsDown {
			log.Info("backend capacity readable again; reporting the backend up")
			m.statsDown = false
		}
	}
	// The backend's options win over what a driver reports, as in Cinder.
	if m.FilterFunction != "" {
		stats.FilterFunction = m.FilterFunction
	}
	if m.GoodnessFunction != "" {
		stats.GoodnessFunction = m.GoodnessFunction
	}
	args := rpcapi.CapabilitiesArgs{Host: m.Host, AvailabilityZone: m.Zone, Stats: stats, ReportedAt: time.Now().UTC()}
	if err := m.Transport.Fanout(ctx, rpc.TopicScheduler, rpcapi.UpdateCapabilities, args); err != nil && ctx.Err() == nil {
		log.WithError(err).Warn("capability report not sent")
	}
}

// downStats is the report of a backend whose driver cannot read its stats: the last good
// report with every pool's total and free capacity unknown and backend_state "down" (on
// every pool: a pool's own backend_state, as the RBD driver sets it, wins over the
// backend's). It shares no map with last.
func downStats(last driver.Stats, why error) driver.Stats {
	st := last
	st.Extra = withBackendState(last.Extra, why)
	st.Pools = make([]driver.Pool, len(last.Pools))
	for i, p := range last.Pools {
		p.TotalCapacityGB, p.FreeCapacityGB = driver.Unknown, driver.Unknown
		p.Extra = withBackendState(p.Extra, why)
		st.Pools[i] = p
	}
	return st
}

// withBackendState is a copy of extra with backend_state "down" and, in
// backend_state_reason, why (what get_pools?detail=true shows beside it).
func withBackendState(extra map[string]any, why error) map[string]any {
	out := make(map[string]any, len(extra)+2)
	maps.Copy(out, extra)
	out[resource.CapBackendState] = resource.BackendStateDown
	if why != nil {
		out[resource.CapBackendStateReason] = why.Error()
	}
	return out
}
