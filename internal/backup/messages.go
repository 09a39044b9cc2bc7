package backup

import (
	"context"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// Cinder's message detail ids of backups (message_field.Detail), with their stock texts.
const (
	detailBackupInvalidState       = "017" // Backup status is invalid.
	detailBackupCreateDeviceError  = "019" // Failed to get backup device from the volume service.
	detailBackupCreateDriverError  = "020" // Backup driver failed to create backup.
	detailAttachError              = "021" // Failed to attach volume.
	detailDetachError              = "022" // Failed to detach volume.
	detailBackupCreateCleanupError = "023" // Cleanup of temporary volume/snapshot failed.
	detailBackupDeleteDriverError  = "025" // Backup driver failed to delete backup.
	detailBackupRestoreError       = "026" // Backup driver failed to restore backup.
)

// detailTexts are the stock texts of those ids, written as the message's detail (the
// shared table may not hold them).
var detailTexts = map[string]string{
	detailBackupInvalidState:       "Backup status is invalid.",
	detailBackupCreateDeviceError:  "Failed to get backup device from the volume service.",
	detailBackupCreateDriverError:  "Backup driver failed to create backup.",
	detailAttachError:              "Failed to attach volume.",
	detailDetachError:              "Failed to detach volume.",
	detailBackupCreateCleanupError: "Cleanup of temporary volume/snapshot failed.",
	detailBackupDeleteDriverError:  "Backup driver failed to delete backup.",
	detailBackupRestoreError:       "Backup driver failed to restore backup.",
}

// stepError is the failure of one step of an operation, with the message detail it ends in.
type stepError struct {
	detail string
	err    error
}

func (e *stepError) Error() string { return e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func step(detail string, err error) error {
	if err == nil {
		return nil
	}
	return &stepError{detail: detail, err: err}
}

// detailOf is the message detail of err (unknown error for one of no step).
func detailOf(err error) string {
	for e := err; e != nil; {
		if s, ok := e.(*stepError); ok {
			return s.detail
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return resource.DetailUnknownError
}

// backupMessage is a user message about backup b: Cinder's action and the detail id of err,
// with its stock text (the fail reason on the backup keeps the error itself).
func backupMessage(ctx context.Context, b *resource.Backup, action string, err error) *resource.Message {
	detail := detailOf(err)
	return &resource.Message{
		ProjectID:    b.ProjectID,
		RequestID:    reqctx.From(ctx).RequestID,
		ResourceType: resource.MessageResourceBackup,
		ResourceUUID: b.ID,
		ActionID:     action,
		DetailID:     detail,
		Detail:       detailTexts[detail],
	}
}
