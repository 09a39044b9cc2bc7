package volume

import (
	"context"
	"errors"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
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

// ours reports whether host (host@backend#pool) is on this manager's backend.
func (m *Manager) ours(host string) bool { return rpcapi.BackendHost(host) == m.Host }

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
