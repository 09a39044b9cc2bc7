// Package backup is scoria-backup, Cinder's backup service: it takes, restores, deletes,
// exports and imports volume backups for the API, reading and writing volumes through the
// volume service's backend (get_backup_device, initialize_connection with a local attach,
// internal/volumeio), never through the API, and keeps every backup and volume out of a
// transitional status when it dies (recovery at start).
//
// It holds:
//   - Driver, what a backup driver does (driver.go), and the drivers' names;
//   - Manager, the service: its RPC handlers (create_backup, restore_backup, delete_backup,
//     export_record, import_record), backup_max_operations, progress, recovery
//     (manager.go, create.go, restore.go, delete.go, recover.go), with the Store and
//     Attacher it needs and the user messages of its failures (messages.go);
//   - the export record format (Cinder's base64 JSON: EncodeRecord, DecodeRecord, record.go).
//
// The drivers are packages of their own: posix and nfs (Cinder's chunked format, package
// chunked, on a directory or a mounted share) and ceph (RBD images, incremental by snapshot
// diff).
package backup
