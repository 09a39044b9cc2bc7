package volume

// Generic volume groups on this backend: create_group (a placed group, and the member
// volumes of a group made from a source), delete_group (its volumes, then the group) and
// update_group (volumes join and leave), as Cinder's volume manager does on its generic path;
// a driver that keeps groups of its own (driver.GroupManager) is called as well. Each ends
// in one conditional change of the group; a failure leaves the group in error with a user
// message. At start, recoverGroups finishes whatever a crash left creating, deleting or
// updating.

import (
	"context"
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// groupStore is what the group methods need of the database; Store embeds it.
type groupStore interface {
	GetGroup(ctx context.Context, id string) (*resource.Group, error)
	GetGroupType(ctx context.Context, id string) (*resource.GroupType, error)
	ListGroupVolumes(ctx context.Context, groupID string) ([]*resource.Volume, error)
	ListGroupsByHost(ctx context.Context, backendHost string, statuses []string) ([]*resource.Group, error)
	TransitionGroup(ctx context.Context, id string, from []string, status string, msg *resource.Message, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	FailGroupCreate(ctx context.Context, id string, msg *resource.Message) error
	FinishGroupUpdate(ctx context.Context, id string, add, remove []string) (int, int, error)
	DestroyGroup(ctx context.Context, id string, from []string, onlyUnplaced bool) error
}

// driverGroup is what a GroupManager driver is told of g.
func (m *Manager) driverGroup(ctx context.Context, g *resource.Group) driver.Group {
	dg := driver.Group{ID: g.ID, GroupTypeID: g.GroupTypeID, GroupSpecs: map[string]string{}}
	if gt, err := m.Store.GetGroupType(ctx, g.GroupTypeID); err == nil {
		dg.GroupSpecs = gt.GroupSpecs
	}
	return dg
}

// failGroup moves g from one of from to error with a user message saying what failed.
func (m *Manager) failGroup(ctx context.Context, g *resource.Group, from []string, text string) error {
	msg := userMessage(ctx, g.ProjectID, resource.MessageResourceGroup, g.ID, resource.ActionUnknown, resource.DetailUnknownError, text)
	if _, err := m.Store.TransitionGroup(ctx, g.ID, from, resource.GroupStatusError, msg); err != nil && !lost(err) {
		return fmt.Errorf("set group %s to error: %w", g.ID, err)
	}
	return nil
}

// CreateGroup makes a group placed here: the driver's group, when it keeps them, and the
// member volumes of a group made from a source (each a clone or a volume from a snapshot);
// then the group is available, or error when a member could not be made.
func (m *Manager) CreateGroup(ctx context.Context, id string) error {
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "group_id": id})
	g, ok, err := m.groups().load(ctx, log, rpcapi.CreateGroup, id, resource.GroupStatusCreating)
	if !ok {
		return err
	}
	if gm, ok := m.Driver.(driver.GroupManager); ok {
		if err := gm.CreateGroup(ctx, m.driverGroup(ctx, g)); err != nil {
			log.WithError(err).Error("the backend could not create the group; group and its members set to error")
			msg := userMessage(ctx, g.ProjectID, resource.MessageResourceGroup, g.ID, resource.ActionUnknown, resource.DetailUnknownError,
				"The backend could not create the group: "+err.Error())
			if err := m.Store.FailGroupCreate(ctx, g.ID, msg); err != nil && !lost(err) {
				return fmt.Errorf("set group %s to error: %w", g.ID, err)
			}
			return nil
		}
	}
	members, err := m.Store.ListGroupVolumes(ctx, g.ID)
	if err != nil {
		return err
	}
	failed := 0
	for _, v := range members {
		if v.Status == resource.StatusCreating && m.ours(v.Host) && (v.SnapshotID != "" || v.SourceVolID != "") {
			if err := m.createMember(ctx, log, v.ID); err != nil {
				return err
			}
			if v, err = m.Store.GetVolume(ctx, v.ID); err != nil && !errors.Is(err, resource.ErrNotFound) {
				return err
			}
		}
		if v != nil && v.Status == resource.StatusError {
			failed++
		}
	}
	if failed > 0 {
		log.WithField("failed", failed).Error("members of the group could not be made; group set to error")
		return m.failGroup(ctx, g, []string{resource.GroupStatusCreating},
			fmt.Sprintf("%d of the group's %d volumes could not be made from the source.", failed, len(members)))
	}
	if _, err := m.Store.TransitionGroup(ctx, g.ID, []string{resource.GroupStatusCreating}, resource.GroupStatusAvailable, nil); err != nil {
		if lost(err) {
			log.WithError(err).Warn("group changed while it was made")
			return nil
		}
		return err
	}
	log.WithField("volumes", len(members)).Info("group created")
	return nil
}

// createMember makes one member volume of a group from its source, serialised with any
// other create or delete of the volume.
func (m *Manager) createMember(ctx context.Context, log logrus.FieldLogger, id string) error {
	defer m.locks.lock(id)()
	v, err := m.Store.GetVolume(ctx, id)
	if errors.Is(err, resource.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if v.Status != resource.StatusCreating {
		return nil
	}
	return m.createFromSource(ctx, log.WithField("volume_id", id), v)
}

// DeleteGroup deletes a group in deleting: each of its volumes (in deleting) as delete_volume
// does, then the driver's group, then the row with its quota. A volume that could not be
// deleted leaves the group in error.
func (m *Manager) DeleteGroup(ctx context.Context, id string) error {
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "group_id": id})
	g, ok, err := m.groups().load(ctx, log, rpcapi.DeleteGroup, id, resource.GroupStatusDeleting)
	if !ok {
		return err
	}
	members, err := m.Store.ListGroupVolumes(ctx, g.ID)
	if err != nil {
		return err
	}
	for _, v := range members {
		if v.Status == resource.StatusDeleting {
			if err := m.DeleteVolume(ctx, v.ID); err != nil {
				return err
			}
		}
	}
	left, err := m.Store.ListGroupVolumes(ctx, g.ID)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		log.WithField("volumes_left", len(left)).Error("volumes of the group could not be deleted; group set to error")
		return m.failGroup(ctx, g, []string{resource.GroupStatusDeleting},
			fmt.Sprintf("%d of the group's volumes could not be deleted (volume %s is %s).", len(left), left[0].ID, left[0].Status))
	}
	if gm, ok := m.Driver.(driver.GroupManager); ok {
		if err := gm.DeleteGroup(ctx, m.driverGroup(ctx, g)); err != nil {
			log.WithError(err).Error("the backend could not delete the group; group set to error")
			return m.failGroup(ctx, g, []string{resource.GroupStatusDeleting}, "The backend could not delete the group: "+err.Error())
		}
	}
	if err := m.Store.DestroyGroup(ctx, g.ID, []string{resource.GroupStatusDeleting}, false); err != nil {
		if lost(err) {
			log.WithError(err).Warn("group changed while it was deleted")
			return nil
		}
		return err
	}
	log.WithField("volumes", len(members)).Info("group deleted")
	return nil
}

// UpdateGroup applies an update to a group in updating: the driver's, when it keeps groups,
// then the membership in the database, and the group is available again.
func (m *Manager) UpdateGroup(ctx context.Context, a rpcapi.UpdateGroupArgs) error {
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "group_id": a.GroupID})
	g, ok, err := m.groups().load(ctx, log, rpcapi.UpdateGroup, a.GroupID, resource.GroupStatusUpdating)
	if !ok {
		return err
	}
	if gm, ok := m.Driver.(driver.GroupManager); ok {
		load := func(ids []string) ([]driver.Volume, error) {
			var out []driver.Volume
			for _, id := range ids {
				v, err := m.Store.GetVolume(ctx, id)
				if errors.Is(err, resource.ErrNotFound) {
					continue
				}
				if err != nil {
					return nil, err
				}
				dv, err := m.driverVolume(ctx, v)
				if err != nil {
					return nil, err
				}
				out = append(out, dv)
			}
			return out, nil
		}
		add, err := load(a.AddVolumes)
		if err != nil {
			return err
		}
		remove, err := load(a.RemoveVolumes)
		if err != nil {
			return err
		}
		if err := gm.UpdateGroup(ctx, m.driverGroup(ctx, g), add, remove); err != nil {
			log.WithError(err).Error("the backend could not update the group; group set to error")
			return m.failGroup(ctx, g, []string{resource.GroupStatusUpdating}, "The backend could not update the group: "+err.Error())
		}
	}
	added, removed, err := m.Store.FinishGroupUpdate(ctx, g.ID, a.AddVolumes, a.RemoveVolumes)
	if lost(err) {
		log.WithError(err).Warn("group changed while it was updated")
		return nil
	}
	if err != nil {
		return err
	}
	if added != len(a.AddVolumes) {
		log.WithFields(logrus.Fields{"asked": len(a.AddVolumes), "added": added}).Warn("some volumes changed since the update was accepted and did not join the group")
	}
	log.WithFields(logrus.Fields{"added": added, "removed": removed}).Info("group updated")
	return nil
}

// recoverGroups finishes, at start, the groups of this backend a crash left in flight: a
// group creating is made (its members first), one deleting is deleted (its volumes were
// deleted by Recover's volume pass, or are now), and one updating, whose add and remove
// lists only its lost message held, goes back to available with a user message saying the
// update was not applied.
func (m *Manager) recoverGroups(ctx context.Context) error {
	groups, err := m.Store.ListGroupsByHost(ctx, m.Host, []string{resource.GroupStatusCreating, resource.GroupStatusDeleting, resource.GroupStatusUpdating})
	if err != nil {
		return fmt.Errorf("list groups in flight: %w", err)
	}
	for _, g := range groups {
		rctx := reqctx.With(ctx, reqctx.Context{RequestID: reqctx.NewRequestID(), UserID: g.UserID, ProjectID: g.ProjectID})
		log := reqctx.Log(rctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "group_id": g.ID, "status": g.Status})
		switch g.Status {
		case resource.GroupStatusCreating:
			err = m.CreateGroup(rctx, g.ID)
		case resource.GroupStatusDeleting:
			err = m.DeleteGroup(rctx, g.ID)
		case resource.GroupStatusUpdating:
			msg := userMessage(rctx, g.ProjectID, resource.MessageResourceGroup, g.ID, resource.ActionUnknown, resource.DetailUnknownError,
				"The volume service restarted during the group's update; the volumes to add and remove were not applied.")
			if _, err = m.Store.TransitionGroup(rctx, g.ID, []string{resource.GroupStatusUpdating}, resource.GroupStatusAvailable, msg); lost(err) {
				err = nil
			}
		}
		if err != nil {
			return fmt.Errorf("recover group %s: %w", g.ID, err)
		}
		log.Info("recovery: group settled")
	}
	return nil
}
