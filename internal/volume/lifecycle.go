package volume

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/message"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/pkg/driver"
)

// lifecycleStore is what the volume lifecycle beyond create and delete (snapshots, volumes
// from a source, extend, revert) needs of the database; Store embeds it.
type lifecycleStore interface {
	GetSnapshot(ctx context.Context, id string) (*resource.Snapshot, error)
	ListSnapshots(ctx context.Context, f resource.SnapshotFilter) ([]*resource.Snapshot, error)
	TransitionSnapshot(ctx context.Context, id string, from []string, status string, msg *resource.Message, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	DestroySnapshot(ctx context.Context, id string, from []string) error
	ExtendTarget(ctx context.Context, id string) (int, error)
	FinishExtend(ctx context.Context, id string, newSize int) error
	FailExtend(ctx context.Context, id string, newSize int, msg *resource.Message) error
	FinishRevert(ctx context.Context, volumeID, snapshotID string) error
	FailRevert(ctx context.Context, volumeID, snapshotID string, msg *resource.Message) error
}

// handleLifecycle decodes and runs the lifecycle methods of Handle; it reports false for a
// method that is not one of them.
func (m *Manager) handleLifecycle(ctx context.Context, log logrus.FieldLogger, msg *rpc.Message) (bool, error) {
	decode := func(v any) bool {
		if err := json.Unmarshal(msg.Args, v); err != nil {
			log.WithError(err).WithField("method", msg.Method).Error("dropping a message with undecodable arguments")
			return false
		}
		return true
	}
	switch msg.Method {
	case message.CreateSnapshot, message.DeleteSnapshot:
		var a message.SnapshotArgs
		if !decode(&a) {
			return true, nil
		}
		if msg.Method == message.CreateSnapshot {
			return true, m.CreateSnapshot(ctx, a.SnapshotID)
		}
		return true, m.DeleteSnapshot(ctx, a.SnapshotID)
	case message.ExtendVolume:
		var a message.ExtendVolumeArgs
		if !decode(&a) {
			return true, nil
		}
		return true, m.ExtendVolume(ctx, a)
	case message.RevertToSnapshot:
		var a message.RevertArgs
		if !decode(&a) {
			return true, nil
		}
		return true, m.RevertToSnapshot(ctx, a)
	}
	return false, nil
}

// ours reports whether host (host@backend#pool) is on this manager's backend.
func (m *Manager) ours(host string) bool { return message.BackendHost(host) == m.Host }

func driverSnapshot(sn *resource.Snapshot) driver.Snapshot {
	return driver.Snapshot{ID: sn.ID, Name: driver.SnapshotStorageName(sn.ID), VolumeID: sn.VolumeID, SizeGiB: sn.Size, GroupSnapshotID: sn.GroupSnapshotID, Data: driverData(sn.Provider)}
}

// userMessage is an error message for the owner of a resource: Cinder's action and detail
// ids, and, when text is set, Scoria's sentence in place of the detail's stock text.
func userMessage(ctx context.Context, project, resourceType, id, action, detail, text string) *resource.Message {
	return &resource.Message{
		ProjectID:    project,
		RequestID:    reqctx.From(ctx).RequestID,
		ResourceType: resourceType,
		ResourceUUID: id,
		ActionID:     action,
		DetailID:     detail,
		Detail:       text,
	}
}

// lost reports whether err says the row changed or went away meanwhile: another actor won,
// and there is nothing left to do.
func lost(err error) bool {
	return errors.Is(err, resource.ErrInvalidState) || errors.Is(err, resource.ErrNotFound)
}
