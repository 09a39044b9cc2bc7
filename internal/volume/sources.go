package volume

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/pkg/driver"
)

// sourceFailure is why a volume could not be made from its source: its storage or its
// source's state. Another backend would not do better (a source lives on one backend), so
// the volume goes to error rather than back to the scheduler.
type sourceFailure struct {
	detail string // Cinder's detail id
	text   string // the user's sentence; "" for the detail's stock text
	cause  error
}

func (f *sourceFailure) Error() string { return f.cause.Error() }

// noCloneFrom are the statuses of a volume that has no complete storage to copy.
var noCloneFrom = []string{resource.StatusCreating, resource.StatusDeleting, resource.StatusError, resource.StatusErrorDeleting}

// createFromSource makes the storage of v, in creating and placed here, from the snapshot
// or the volume it names (idempotently: the driver's copy is), and makes it available; a
// failure sets it to error with a user message (Cinder's "create volume from backend
// storage" action). The claim the volume holds goes back with the error.
func (m *Manager) createFromSource(ctx context.Context, log logrus.FieldLogger, v *resource.Volume) error {
	start := time.Now()
	p, err := m.copySource(ctx, v)
	var f *sourceFailure
	if errors.As(err, &f) {
		log.WithError(f.cause).Error("could not create the volume from its source; volume set to error")
		ch := resource.VolumeChange{Status: resource.StatusError, Message: userMessage(ctx, v.ProjectID,
			resource.MessageResourceVolume, v.ID, resource.ActionCreateVolumeFromBackend, f.detail, f.text)}
		if _, err := m.Store.TransitionVolume(ctx, v.ID, []string{resource.StatusCreating}, ch); err != nil && !lost(err) {
			return fmt.Errorf("set volume %s to error: %w", v.ID, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if err := m.finishCreate(ctx, v, p); err != nil {
		return err
	}
	log.WithField("duration", time.Since(start).Round(time.Microsecond)).Info("volume created from its source")
	return nil
}

// copySource runs the driver's copy of v's source and returns the driver's data of v; a
// *sourceFailure says why it could not.
func (m *Manager) copySource(ctx context.Context, v *resource.Volume) (resource.ProviderData, error) {
	fail := func(detail, text string, cause error) (resource.ProviderData, error) {
		return resource.ProviderData{}, &sourceFailure{detail: detail, text: text, cause: cause}
	}
	made := func(d driver.Data, err error) (resource.ProviderData, error) {
		if err == nil {
			var p resource.ProviderData
			if p, err = providerData(d); err == nil {
				return p, nil
			}
		}
		return fail(resource.DetailDriverFailedCreate, "", err)
	}
	dv, err := m.driverVolume(ctx, v)
	if err != nil {
		return resource.ProviderData{}, err
	}
	if v.SnapshotID != "" {
		restorer, ok := m.Driver.(driver.SnapshotRestorer)
		if !ok {
			return fail(resource.DetailUnknownError, "The backend cannot create volumes from snapshots.", errors.New("driver is not a SnapshotRestorer"))
		}
		sn, err := m.Store.GetSnapshot(ctx, v.SnapshotID)
		if errors.Is(err, resource.ErrNotFound) {
			return fail(resource.DetailUnknownError, fmt.Sprintf("Snapshot %s no longer exists.", v.SnapshotID), err)
		}
		if err != nil {
			return resource.ProviderData{}, fmt.Errorf("load snapshot %s: %w", v.SnapshotID, err)
		}
		if !m.ours(sn.Host) {
			return fail(resource.DetailUnknownError, fmt.Sprintf("Snapshot %s is on another backend.", sn.ID),
				fmt.Errorf("snapshot %s is on %s, not %s", sn.ID, sn.Host, m.Host))
		}
		if sn.Status != resource.SnapshotAvailable && sn.Status != resource.SnapshotRestoring {
			return fail(resource.DetailUnknownError, fmt.Sprintf("Snapshot %s is %s.", sn.ID, sn.Status),
				fmt.Errorf("snapshot %s is in status %s", sn.ID, sn.Status))
		}
		return made(restorer.CreateVolumeFromSnapshot(ctx, dv, driverSnapshot(sn)))
	}
	cloner, ok := m.Driver.(driver.Cloner)
	if !ok {
		return fail(resource.DetailUnknownError, "The backend cannot clone volumes.", errors.New("driver is not a Cloner"))
	}
	src, err := m.Store.GetVolume(ctx, v.SourceVolID)
	if errors.Is(err, resource.ErrNotFound) {
		return fail(resource.DetailUnknownError, fmt.Sprintf("Source volume %s no longer exists.", v.SourceVolID), err)
	}
	if err != nil {
		return resource.ProviderData{}, fmt.Errorf("load source volume %s: %w", v.SourceVolID, err)
	}
	if !m.ours(src.Host) {
		return fail(resource.DetailUnknownError, fmt.Sprintf("Source volume %s is on another backend.", src.ID),
			fmt.Errorf("source volume %s is on %s, not %s", src.ID, src.Host, m.Host))
	}
	if slices.Contains(noCloneFrom, src.Status) {
		return fail(resource.DetailUnknownError, fmt.Sprintf("Source volume %s is %s.", src.ID, src.Status),
			fmt.Errorf("source volume %s is in status %s", src.ID, src.Status))
	}
	srcv, err := m.driverVolume(ctx, src)
	if err != nil {
		return resource.ProviderData{}, err
	}
	return made(cloner.CreateClonedVolume(ctx, dv, srcv))
}
