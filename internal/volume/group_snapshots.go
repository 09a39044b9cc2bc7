package volume

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// groupSnapshotStore is what group snapshots need of the database; Store embeds it.
type groupSnapshotStore interface {
	GetGroupSnapshot(ctx context.Context, id string) (*resource.GroupSnapshot, error)
	GroupSnapshotHost(ctx context.Context, id string) (string, error)
	GroupSnapshotSpecs(ctx context.Context, id string) (map[string]string, error)
	ListGroupSnapshotMembers(ctx context.Context, id string) ([]*resource.Snapshot, error)
	ListGroupSnapshotsByHost(ctx context.Context, backendHost string, statuses []string) ([]*resource.GroupSnapshot, error)
	FinishGroupSnapshot(ctx context.Context, id string, failed []string, msg *resource.Message) error
	FailGroupSnapshotDelete(ctx context.Context, id string, msg *resource.Message) error
	DestroyGroupSnapshot(ctx context.Context, id string) error
}

// driverGroupSnapshot is gs with its member snapshots and their volumes, as the driver sees
// them.
func (m *Manager) driverGroupSnapshot(ctx context.Context, gs *resource.GroupSnapshot, members []*resource.Snapshot) (driver.GroupSnapshot, error) {
	d := driver.GroupSnapshot{ID: gs.ID, Name: driver.GroupSnapshotStorageName(gs.ID), GroupID: gs.GroupID}
	for _, sn := range members {
		v, err := m.snapshotVolume(ctx, sn)
		if err != nil {
			return driver.GroupSnapshot{}, err
		}
		d.Members = append(d.Members, driver.GroupSnapshotMember{Snapshot: driverSnapshot(sn), Volume: v})
	}
	return d, nil
}

// consistent reports whether group type specs ask for consistent group snapshots
// ("<is> True", as Cinder's volume_utils.is_group_a_cg_snapshot_type reads it).
func consistent(specs map[string]string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(specs[resource.ConsistentGroupSnapshotSpec]), " "), "<is> true")
}

// CreateGroupSnapshot makes the storage of a group snapshot in creating on this backend: in
// one driver call when the driver is a GroupSnapshotter and the group type asks for
// consistent group snapshots, otherwise a snapshot of each member in turn (Cinder's
// _create_group_snapshot_generic). The members that failed go to error, the others to
// available, and the group snapshot to error if any failed, available otherwise.
func (m *Manager) CreateGroupSnapshot(ctx context.Context, id string) error {
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "group_snapshot_id": id})
	gs, ok, err := m.groupSnapshots().load(ctx, log, rpcapi.CreateGroupSnapshot, id, resource.GroupStatusCreating)
	if !ok {
		return err
	}
	return m.makeGroupSnapshot(ctx, log, gs)
}

func (m *Manager) makeGroupSnapshot(ctx context.Context, log logrus.FieldLogger, gs *resource.GroupSnapshot) error {
	members, err := m.Store.ListGroupSnapshotMembers(ctx, gs.ID)
	if err != nil {
		return fmt.Errorf("list snapshots of group snapshot %s: %w", gs.ID, err)
	}
	specs, err := m.Store.GroupSnapshotSpecs(ctx, gs.ID)
	if err != nil {
		return err
	}
	dgs, err := m.driverGroupSnapshot(ctx, gs, members)
	if err != nil {
		return err
	}
	var (
		failed   []string
		provider = map[string]resource.ProviderData{} // the driver's data of each member made one by one
		msg      *resource.Message
		how      = "one by one"
	)
	fail := func(sn *resource.Snapshot, text string, cause error) {
		log.WithError(cause).WithField("snapshot_id", sn.ID).Error("group snapshot member could not be created; set to error")
		failed = append(failed, sn.ID)
		if msg == nil {
			msg = userMessage(ctx, gs.ProjectID, resource.MessageResourceSnapshot, sn.ID, resource.ActionSnapshotCreate, resource.DetailSnapshotCreateError, text)
		}
	}
	gsnapper, isGroup := m.Driver.(driver.GroupSnapshotter)
	snapper, isSnap := m.Driver.(driver.Snapshotter)
	switch {
	case isGroup && consistent(specs):
		how = "consistent"
		data, err := gsnapper.CreateGroupSnapshot(ctx, dgs)
		for id, d := range data {
			if err == nil {
				provider[id], err = providerData(d)
			}
		}
		if err != nil {
			for _, sn := range members {
				fail(sn, "The backend could not make the consistent group snapshot "+gs.ID+".", err)
			}
		}
	case !isSnap:
		for _, sn := range members {
			fail(sn, "The volume's backend does not support snapshots.", errors.New("driver is not a Snapshotter"))
		}
	default:
		for i, dm := range dgs.Members {
			d, err := snapper.CreateSnapshot(ctx, dm.Snapshot, dm.Volume)
			if err == nil {
				provider[dm.Snapshot.ID], err = providerData(d)
			}
			if err != nil {
				fail(members[i], "", err)
			}
		}
	}
	// The members' statuses and driver data in one transaction; a create run again (a
	// recovery) overwrites the data.
	if err := m.Store.FinishGroupSnapshotData(ctx, gs.ID, failed, provider, msg); err != nil {
		if lost(err) {
			log.WithError(err).Warn("group snapshot changed while its storage was made")
			return nil
		}
		return err
	}
	log.WithFields(logrus.Fields{"members": len(members), "failed": len(failed), "how": how}).Info("group snapshot created")
	return nil
}

// DeleteGroupSnapshot removes the storage of a group snapshot in deleting and of its
// members, then their rows (which gives their quota back). When the backend cannot, the
// group snapshot and its members go to error with a user message, as Cinder's.
func (m *Manager) DeleteGroupSnapshot(ctx context.Context, id string) error {
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "group_snapshot_id": id})
	gs, ok, err := m.groupSnapshots().load(ctx, log, rpcapi.DeleteGroupSnapshot, id, resource.GroupStatusDeleting)
	if !ok {
		return err
	}
	return m.removeGroupSnapshot(ctx, log, gs)
}

func (m *Manager) removeGroupSnapshot(ctx context.Context, log logrus.FieldLogger, gs *resource.GroupSnapshot) error {
	members, err := m.Store.ListGroupSnapshotMembers(ctx, gs.ID)
	if err != nil {
		return fmt.Errorf("list snapshots of group snapshot %s: %w", gs.ID, err)
	}
	d, err := m.driverGroupSnapshot(ctx, gs, members)
	if err != nil {
		return err
	}
	var derr error
	if gsnapper, ok := m.Driver.(driver.GroupSnapshotter); ok {
		derr = gsnapper.DeleteGroupSnapshot(ctx, d)
	} else if snapper, ok := m.Driver.(driver.Snapshotter); ok {
		for _, dm := range d.Members {
			if err := snapper.DeleteSnapshot(ctx, dm.Snapshot, dm.Volume); err != nil {
				derr = errors.Join(derr, err)
			}
		}
	}
	if derr != nil {
		log.WithError(derr).Error("group snapshot delete failed on the backend; group snapshot set to error")
		msg := userMessage(ctx, gs.ProjectID, resource.MessageResourceSnapshot, gs.ID, resource.ActionSnapshotDelete, resource.DetailSnapshotDeleteError,
			"The backend could not delete group snapshot "+gs.ID+".")
		if err := m.Store.FailGroupSnapshotDelete(ctx, gs.ID, msg); err != nil && !lost(err) {
			return err
		}
		return nil
	}
	if err := m.Store.DestroyGroupSnapshot(ctx, gs.ID); err != nil {
		if lost(err) {
			log.WithError(err).Warn("group snapshot changed while its storage was removed")
			return nil
		}
		return err
	}
	log.WithField("members", len(members)).Info("group snapshot deleted")
	return nil
}

// recoverGroupSnapshots finishes what this backend left in flight with its group snapshots
// (before recoverSnapshots, which leaves their members to it): one in creating is made
// again (the driver's calls are idempotent) or set to error, one in deleting is deleted.
func (m *Manager) recoverGroupSnapshots(ctx context.Context) error {
	list, err := m.Store.ListGroupSnapshotsByHost(ctx, m.Host, []string{resource.GroupStatusCreating, resource.GroupStatusDeleting})
	if err != nil {
		return fmt.Errorf("list group snapshots in flight: %w", err)
	}
	for _, gs := range list {
		rctx := reqctx.With(ctx, reqctx.Context{RequestID: reqctx.NewRequestID(), UserID: gs.UserID, ProjectID: gs.ProjectID})
		log := reqctx.Log(rctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "group_snapshot_id": gs.ID, "status": gs.Status})
		if gs.Status == resource.GroupStatusCreating {
			err = m.makeGroupSnapshot(rctx, log, gs)
		} else {
			err = m.removeGroupSnapshot(rctx, log, gs)
		}
		if err != nil {
			return err
		}
		log.Info("recovery: group snapshot handled")
	}
	return nil
}
