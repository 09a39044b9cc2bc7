package db

import (
	"context"
	"fmt"

	"github.com/scoria/scoria/internal/resource"
)

// SetBackupProgress records percent (cut to 0–100) as the progress of backup id while it is
// being created or restored; a backup in any other status (finished, failed, reset) is left as
// it is, without error, so that a late report cannot touch a finished row.
func (s *Store) SetBackupProgress(ctx context.Context, id string, percent int) error {
	percent = max(0, min(100, percent))
	if _, err := s.db.ExecContext(ctx, "UPDATE backups SET progress = ? WHERE id = ? AND deleted = 0 AND status IN (?, ?)",
		percent, id, resource.BackupCreating, resource.BackupRestoring); err != nil {
		return fmt.Errorf("set progress of backup %s: %w", id, err)
	}
	return nil
}
