package config

// Backups is what Cinder reads of [DEFAULT] for cinder-backup (scoria-backup): which driver
// keeps the backups, how many run at once, how backups are placed, and each driver's options
// (Cinder's names and defaults: backup/drivers/posix.py, nfs.py, ceph.py, chunkeddriver.py,
// backup/manager.py, backup/api.py).
type Backups struct {
	// Driver is backup_driver: Cinder's class path of the posix, nfs or ceph driver
	// (cinder.backup.drivers.posix.PosixBackupDriver, …; the module path alone is
	// accepted as older Cinders had it). Scoria's default is posix, as Scoria has no Swift
	// driver (Cinder's default is Swift).
	Driver               string
	Workers              int  // backup_workers: accepted; one process serves, backup_max_operations bounds it
	MaxOperations        int  // backup_max_operations: backups and restores run at once; 0: no bound
	UseSameHost          bool // backup_use_same_host: back up on the volume's own host
	UseTempSnapshot      bool // backup_use_temp_snapshot: accepted; an in-use volume is read through a temporary clone
	NameTemplate         string
	RestoreDiscardExcess bool // restore_discard_excess_bytes

	// Chunked drivers (posix, nfs).
	CompressionAlgorithm string // backup_compression_algorithm: zlib, bz2, zstd or none
	FileSize             int    // backup_file_size: bytes per object
	SHABlockSize         int    // backup_sha_block_size_bytes: bytes per sha256 of the incremental map
	EnableProgressTimer  bool   // backup_enable_progress_timer: accepted (no notifications)
	Container            string // backup_container: the default container when a request names none

	// posix.
	PosixPath string // backup_posix_path

	// nfs.
	Share          string // backup_share: host:/path
	MountOptions   string // backup_mount_options
	MountPointBase string // backup_mount_point_base
	MountAttempts  int    // backup_mount_attempts
	// TestNFSExports is scoria_test_nfs_exports in [DEFAULT]: the TEST STAND-IN for the
	// kernel NFS client (a machine without one), as the NFS volume driver's option of the
	// same name: "host:/export=/exported/dir" items; the backup service then reaches these
	// shares (backup_share, and NFS volumes it backs up) by bind mounts of the directories
	// the NFS server exports, after asking the server. Never set in production.
	TestNFSExports []string

	// ceph.
	CephConf          string // backup_ceph_conf
	CephUser          string // backup_ceph_user
	CephPool          string // backup_ceph_pool
	CephChunkSize     int    // backup_ceph_chunk_size: bytes copied at a time in a full copy
	CephStripeUnit    int    // backup_ceph_stripe_unit (0: RBD's default)
	CephStripeCount   int    // backup_ceph_stripe_count (0: RBD's default)
	CephImageJournals bool   // backup_ceph_image_journals
}

// Backup driver class paths, as Cinder names them in backup_driver and backups.service.
const (
	BackupDriverPosix = "cinder.backup.drivers.posix.PosixBackupDriver"
	BackupDriverNFS   = "cinder.backup.drivers.nfs.NFSBackupDriver"
	BackupDriverCeph  = "cinder.backup.drivers.ceph.CephBackupDriver"
)

var backupOptions = []opt[Backups]{
	{"backup_driver", BackupDriverPosix, "Driver that keeps backups: " + BackupDriverPosix + ", " + BackupDriverNFS + " or " + BackupDriverCeph, nonEmpty(func(b *Backups) *string { return &b.Driver })},
	{"backup_workers", "1", "Accepted for compatibility: one scoria-backup process serves, backup_max_operations bounds it", integer(1, noMax, func(b *Backups) *int { return &b.Workers })},
	{"backup_max_operations", "15", "Most backups and restores one backup service runs at once; 0: no bound", integer(0, noMax, func(b *Backups) *int { return &b.MaxOperations })},
	{"backup_use_same_host", "false", "Back a volume up on the backup service of the volume's own host", boolean(func(b *Backups) *bool { return &b.UseSameHost })},
	{"backup_use_temp_snapshot", "false", "Accepted for compatibility: an in-use volume is backed up through a temporary clone", boolean(func(b *Backups) *bool { return &b.UseTempSnapshot })},
	{"backup_name_template", "backup-%s", "Template of backup names on the backend", nonEmpty(func(b *Backups) *string { return &b.NameTemplate })},
	{"restore_discard_excess_bytes", "true", "Zero the part of a larger volume beyond the backup's data when restoring", boolean(func(b *Backups) *bool { return &b.RestoreDiscardExcess })},
	{"backup_compression_algorithm", "zlib", "Compression of the posix and nfs drivers' objects: zlib, bz2, zstd or none", oneOf(func(b *Backups) *string { return &b.CompressionAlgorithm }, "none", "off", "no", "zlib", "gzip", "bz2", "bzip2", "zstd")},
	{"backup_file_size", "1999994880", "Bytes of volume data per backup object (posix, nfs); a multiple of backup_sha_block_size_bytes", integer(1, noMax, func(b *Backups) *int { return &b.FileSize })},
	{"backup_sha_block_size_bytes", "32768", "Bytes per sha256 of an incremental backup's block map (posix, nfs)", integer(1, noMax, func(b *Backups) *int { return &b.SHABlockSize })},
	{"backup_enable_progress_timer", "true", "Accepted for compatibility: progress is logged and kept on the backup", boolean(func(b *Backups) *bool { return &b.EnableProgressTimer })},
	{"backup_container", "", "Container (directory) of a backup whose request names none; empty: the driver's own (posix, nfs: a path from the backup's id)", str(func(b *Backups) *string { return &b.Container })},
	{"backup_posix_path", "$state_path/backup", "Directory the posix driver keeps backups in", nonEmpty(func(b *Backups) *string { return &b.PosixPath })},
	{"backup_share", "", "NFS share the nfs driver keeps backups on, host:/path", str(func(b *Backups) *string { return &b.Share })},
	{"backup_mount_options", "", "Mount options of backup_share (as mount -o)", str(func(b *Backups) *string { return &b.MountOptions })},
	{"backup_mount_point_base", "$state_path/backup_mount", "Directory under which backup_share is mounted", nonEmpty(func(b *Backups) *string { return &b.MountPointBase })},
	{"backup_mount_attempts", "3", "Times the mount of backup_share is tried", integer(1, noMax, func(b *Backups) *int { return &b.MountAttempts })},
	{"scoria_test_nfs_exports", "", "TEST STAND-IN only, for a machine without a kernel NFS client: host:/export=/exported/dir items; the backup service reaches these shares by bind mounts", list(func(b *Backups) *[]string { return &b.TestNFSExports })},
	{"backup_ceph_conf", "/etc/ceph/ceph.conf", "Ceph configuration file of the backup cluster", nonEmpty(func(b *Backups) *string { return &b.CephConf })},
	{"backup_ceph_user", "cinder", "Ceph user the ceph driver connects as", nonEmpty(func(b *Backups) *string { return &b.CephUser })},
	{"backup_ceph_pool", "backups", "Ceph pool of the backup images", nonEmpty(func(b *Backups) *string { return &b.CephPool })},
	{"backup_ceph_chunk_size", "134217728", "Bytes copied at a time between a volume and a backup image", integer(1, noMax, func(b *Backups) *int { return &b.CephChunkSize })},
	{"backup_ceph_stripe_unit", "0", "RBD stripe unit of new backup images; 0: RBD's default", integer(0, noMax, func(b *Backups) *int { return &b.CephStripeUnit })},
	{"backup_ceph_stripe_count", "0", "RBD stripe count of new backup images; 0: RBD's default", integer(0, noMax, func(b *Backups) *int { return &b.CephStripeCount })},
	{"backup_ceph_image_journals", "false", "Enable the journaling feature (RBD mirroring) on backup images", boolean(func(b *Backups) *bool { return &b.CephImageJournals })},
}
