package rpcapi

// Methods of backups. The API sends them to one backup service (topic scoria-backup, server
// its host, Cinder's backup.host); the backup service calls the volume service of the
// volume's backend (topic scoria-volume, server host@backend) for the device it reads or
// writes, and reaches that device itself (initialize_connection with a connector of its own
// host, then a local attach), never through the API.
const (
	// CreateBackup (cast, BackupArgs) takes a backup in creating whose volume is backing-up
	// (or whose snapshot is backing-up), ending it available or error and giving the source
	// back (db FinishBackup / FailBackup).
	CreateBackup = "create_backup"
	// RestoreBackup (cast, RestoreBackupArgs) writes a backup in restoring over a volume in
	// restoring-backup (or, VolumeIsNew, a new volume still creating), ending the volume
	// available (error_restoring, or error for a new one, when it failed) and the backup
	// available.
	RestoreBackup = "restore_backup"
	// DeleteBackup (cast, BackupArgs) removes a backup in deleting from its store and
	// destroys its row (error_deleting when the store refused).
	DeleteBackup = "delete_backup"
	// ExportBackupRecord (call, BackupArgs → BackupRecord) answers export_record.
	ExportBackupRecord = "export_record"
	// ImportBackupRecord (cast, ImportBackupArgs) checks an imported backup's objects in
	// the store and ends it available (error when they are not there).
	ImportBackupRecord = "import_record"

	// GetBackupDevice (call to the volume service, BackupDeviceArgs → BackupDevice) names
	// the volume the backup service is to read for a backup: the volume itself, or, for a
	// backup of an in-use volume (force) or of a snapshot, a temporary volume cloned from it
	// (Cinder's _create_temp_cloned_volume / _create_temp_volume_from_snapshot), recorded
	// in the backup's temp_volume_id in the same transaction that makes its row. A temporary
	// volume is charged to no quota.
	GetBackupDevice = "get_backup_device"
	// RemoveBackupDevice (call to the volume service, BackupDeviceArgs) deletes the
	// temporary volume of a backup (its storage, then its row) and clears the backup's
	// temp_volume_id; one already gone is not an error.
	RemoveBackupDevice = "remove_backup_device"
)

// ConnectorLocalAttach is the connector key with which a backup service asks
// initialize_connection for a local attach: a volume service whose backend's volumes are
// local devices on the connector's host ("host" equal to its own) answers os-brick's
// "local" connection (device_path) instead of exporting the volume over iSCSI.
const ConnectorLocalAttach = "scoria_local_attach"

// BackupArgs name one backup.
type BackupArgs struct {
	BackupID string `json:"backup_id"`
}

// RestoreBackupArgs are the arguments of restore_backup: the backup and the volume it is
// written over; VolumeIsNew for a volume made from the backup (3.47), which is still
// creating and is deleted-free (it ends error, not error_restoring, when the restore fails).
type RestoreBackupArgs struct {
	BackupID    string `json:"backup_id"`
	VolumeID    string `json:"volume_id"`
	VolumeIsNew bool   `json:"volume_is_new,omitempty"`
}

// BackupRecord is export_record's answer, Cinder's backup-record: the driver's service name
// (backups.service) and the base64 of the record's JSON (the backup's fields and the
// driver's own info under driver_info).
type BackupRecord struct {
	BackupService string `json:"backup_service"`
	BackupURL     string `json:"backup_url"`
}

// ImportBackupArgs are the arguments of import_record: the backup row the API made
// (creating) and the record it was made from.
type ImportBackupArgs struct {
	BackupID      string `json:"backup_id"`
	BackupService string `json:"backup_service"`
	BackupURL     string `json:"backup_url"`
}

// BackupDeviceArgs name a backup and the volume it reads (its volume_id).
type BackupDeviceArgs struct {
	BackupID string `json:"backup_id"`
	VolumeID string `json:"volume_id"`
}

// BackupDevice is get_backup_device's answer: the volume to attach and read, and whether it
// is a temporary one made for the backup (removed with remove_backup_device after).
type BackupDevice struct {
	VolumeID string `json:"volume_id"`
	IsTemp   bool   `json:"is_temp,omitempty"`
}
