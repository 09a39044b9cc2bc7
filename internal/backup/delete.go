package backup

import (
	"context"
	"fmt"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

// DeleteBackup removes backup id (deleting) from the store and destroys its row (giving its
// quota back); when the store refuses, the backup ends error_deleting with the reason and a
// user message.
func (m *Manager) DeleteBackup(ctx context.Context, id string) error {
	log := m.opLog(ctx, id)
	b, err := m.Store.GetBackup(ctx, id)
	if gone(err) {
		log.WithError(err).Warn("delete_backup of a backup that is gone; dropped")
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete backup %s: %w", id, err)
	}
	if b.Status != resource.BackupDeleting {
		log.WithField("status", b.Status).Warn("delete_backup of a backup that is not deleting; dropped")
		return nil
	}
	if !m.ours(log, b, rpcapi.DeleteBackup) {
		return nil
	}
	var derr error
	if b.Service != "" && b.Service != m.Driver.Service() {
		derr = fmt.Errorf("Delete backup aborted, the backup service currently configured [%s] is not the backup service that was used to create this backup [%s].",
			m.Driver.Service(), b.Service)
	} else if b.Service != "" { // a backup never written (failed before its driver) holds nothing
		derr = m.Driver.Delete(ctx, b)
	}
	if derr != nil {
		if ctx.Err() != nil {
			return derr
		}
		log.WithError(derr).Error("backup delete failed")
		reason := derr.Error()
		ch := resource.BackupChange{Status: resource.BackupErrorDeleting, FailReason: &reason,
			Message: backupMessage(ctx, b, resource.ActionBackupDelete, step(detailBackupDeleteDriverError, derr))}
		if _, err := m.Store.TransitionBackup(ctx, id, []string{resource.BackupDeleting}, ch); err != nil && !gone(err) {
			return fmt.Errorf("set backup %s to error_deleting: %w", id, err)
		}
		return nil
	}
	if err := m.Store.DestroyBackup(ctx, id, []string{resource.BackupDeleting}); err != nil {
		if gone(err) {
			log.WithError(err).Warn("backup changed while it was deleted")
			return nil
		}
		return fmt.Errorf("destroy backup %s: %w", id, err)
	}
	log.Info("backup deleted")
	return nil
}
