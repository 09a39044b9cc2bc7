package resource

import (
	"fmt"
	"time"
)

// Backup statuses, as Cinder names them (fields.BackupStatus).
const (
	BackupCreating      = "creating"
	BackupAvailable     = "available"
	BackupDeleting      = "deleting"
	BackupError         = "error"
	BackupErrorDeleting = "error_deleting"
	BackupRestoring     = "restoring"
	BackupDeleted       = "deleted"
)

// BackupStatuses are every status of a backup, in Cinder's order (fields.BackupStatus.ALL).
var BackupStatuses = []string{
	BackupError, BackupErrorDeleting, BackupCreating, BackupAvailable, BackupDeleting, BackupDeleted, BackupRestoring,
}

// BackupDeletableStatuses are the statuses a backup may be deleted from without force, as
// Cinder's backup API allows.
var BackupDeletableStatuses = []string{BackupAvailable, BackupError}

// Volume statuses of a backup's source and of a restore's target, as Cinder names them.
const (
	// StatusBackingUp is a volume being read by a backup; its previous status (available or
	// in-use) is kept in volumes.previous_status, and the end of the backup puts it back.
	StatusBackingUp = "backing-up"
	// StatusRestoringBackup is a volume being written by a restore; it ends available, or
	// error_restoring when the restore failed.
	StatusRestoringBackup = "restoring-backup"
	// PreviousStatusErrorBackingUp is what a failed backup leaves in a volume's
	// previous_status, as Cinder does.
	PreviousStatusErrorBackingUp = "error_backing-up"
)

// ImportVolumeID is the volume id of an imported backup, whose volume is not known here:
// Cinder's IMPORT_VOLUME_ID.
const ImportVolumeID = "00000000-0000-0000-0000-000000000000"

// BackupMetadataKeySource is the volume metadata key a restore writes on a volume that
// another volume's backup was restored to: Cinder's src_backup_id.
const BackupMetadataKeySource = "src_backup_id"

// Backup is one backup row with its metadata: every column of Cinder's backups table.
type Backup struct {
	ID               string
	VolumeID         string // the volume backed up (ImportVolumeID for an imported backup)
	UserID           string
	ProjectID        string
	Host             string // the backup service (its host) that holds it, "" before one is chosen
	AvailabilityZone string
	Name             string // display_name
	Description      string // display_description
	Container        string // the driver's container (directory, bucket, pool), "" for its default
	Status           string
	FailReason       string // why it is in error, at most 255 characters
	ServiceMetadata  string // the driver's own data about the backup (its prefix, its RBD snapshot…)
	Service          string // the driver that wrote it, as Cinder names it (cinder.backup.drivers.posix.PosixBackupDriver)
	Size             int    // GiB: the volume's size when the backup was taken
	ObjectCount      int    // how many objects (chunks) the driver wrote
	ParentID         string // the backup an incremental backup is based on, "" for a full one
	TempVolumeID     string // a temporary volume the backup service made to read from, "" if none
	TempSnapshotID   string // a temporary snapshot the backup service made to read from, "" if none
	// NumDependentBackups counts the live backups whose ParentID is this one, whatever
	// their status: a backup with dependents cannot be deleted.
	NumDependentBackups int
	SnapshotID          string // the snapshot backed up instead of the volume, "" if none
	// DataTimestamp is when the data backed up was the volume's: the backup's CreatedAt, or
	// the snapshot's CreatedAt for a backup of a snapshot. An incremental backup's parent is
	// the available backup of the volume with the latest DataTimestamp.
	DataTimestamp   *time.Time
	RestoreVolumeID string // the volume of the last restore
	// EncryptionKeyID is the backup's own copy of an encrypted volume's key, "" if none.
	EncryptionKeyID string
	Metadata        map[string]string
	// Progress is the percent (0–100) of the volume the running backup or restore of this
	// backup has read or written: Scoria's own column, shown on request only.
	Progress  int
	CreatedAt time.Time
	UpdatedAt *time.Time
	DeletedAt *time.Time
}

// IsIncremental reports whether b is based on another backup.
func (b *Backup) IsIncremental() bool { return b.ParentID != "" }

// HasDependentBackups reports whether incremental backups are based on b.
func (b *Backup) HasDependentBackups() bool { return b.NumDependentBackups > 0 }

// BackupCreate is how a backup is to be taken, beside the row the caller fills in.
type BackupCreate struct {
	// Incremental bases the backup on the volume's available backup with the latest data
	// (Cinder's choice); without one the create is refused.
	Incremental bool
	// Force allows a backup of an in-use volume.
	Force bool
}

// BackupChange is one conditional change of a backup's status
// (UPDATE … WHERE id = ? AND status IN (…)); nil fields stay as they are.
type BackupChange struct {
	Status          string  // the new status
	FailReason      *string // cut to 255 characters, as Cinder's column holds
	Host            *string
	Service         *string
	ServiceMetadata *string
	Size            *int
	ObjectCount     *int
	Container       *string // the container the driver wrote into
	TempVolumeID    *string
	TempSnapshotID  *string
	// EncryptionKeyID is the backup's own copy of its encrypted volume's key, which the
	// backup service makes when it starts (as Cinder's manager clones it).
	EncryptionKeyID *string
	// Message, when non-nil, is a user message written in the same transaction if, and
	// only if, the change wins.
	Message *Message
}

// BackupRestore is a restore of a backup to an existing volume.
type BackupRestore struct {
	BackupID string
	VolumeID string
	// Host, when not "", is the backup service that is to restore it (Cinder moves the
	// backup to an available service of its zone).
	Host string
}

// BackupDelete is the start of a backup's delete, which its backup service carries out.
type BackupDelete struct {
	BackupID string
	From     []string // the statuses the backup may be deleted from
	Host     string   // when not "", the backup service that is to delete it
}

// BackupUpdate is a user's change to a backup; nil fields stay as they are. A non-nil
// Metadata replaces all of the backup's metadata.
type BackupUpdate struct {
	Name        *string
	Description *string
	Metadata    map[string]string
}

// BackupFilter selects backups for a list: every condition set must hold. Without Sort,
// results are ordered newest first (created_at DESC, id DESC); Marker is the id of the last
// backup of the previous page.
type BackupFilter struct {
	ProjectID string // "" lists every project's backups (all_tenants)
	Name      string
	Status    string
	VolumeID  string
	// Equal holds exact matches on backup fields by Cinder's column name (BackupFilterFields);
	// Like holds substring matches (case-insensitive) on the same fields (the name~ filters).
	Equal map[string]string
	Like  map[string]string
	// Metadata selects backups that have every one of these items.
	Metadata map[string]string
	Limit    int // 0 means no limit
	Offset   int // backups skipped after the marker (or from the first)
	Marker   string
	// Sort orders the result by these keys (BackupFilterFields); created_at and id are
	// added after them in the first key's direction, as Cinder does.
	Sort []SortKey
}

// BackupFilterFields are the fields a backup list may filter and sort by: the columns of
// Cinder's backups table (its model filters accept any of them).
var BackupFilterFields = []string{
	"id", "volume_id", "user_id", "project_id", "host", "availability_zone", "display_name",
	"display_description", "container", "status", "fail_reason", "service_metadata", "service",
	"size", "object_count", "parent_id", "temp_volume_id", "temp_snapshot_id",
	"num_dependent_backups", "snapshot_id", "data_timestamp", "restore_volume_id",
	"encryption_key_id", "created_at", "updated_at",
}

// BackupRefusedError refuses a change of a backup, its volume or its snapshot in Cinder's words
// (Reason). Kind says which of Cinder's exceptions it is: "Backup" (InvalidBackup),
// "Volume" (InvalidVolume) or "Snapshot" (InvalidSnapshot); Cinder answers all three 400.
type BackupRefusedError struct {
	Kind   string
	Reason string
}

func (e *BackupRefusedError) Error() string {
	return fmt.Sprintf("Invalid %s: %s", lowerKind(e.Kind), e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidState) true.
func (e *BackupRefusedError) Unwrap() error { return ErrInvalidState }

func lowerKind(k string) string {
	switch k {
	case "Volume":
		return "volume"
	case "Snapshot":
		return "snapshot"
	default:
		return "backup"
	}
}
