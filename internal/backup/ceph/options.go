package ceph

import "github.com/scoria/scoria/internal/config"

// Options are the driver's settings, under Cinder's option names.
type Options struct {
	Conf        string // backup_ceph_conf: the backup cluster's ceph.conf
	User        string // backup_ceph_user: the Ceph user (client.<User>) the driver connects as
	Pool        string // backup_ceph_pool: the pool of backups without a container of their own
	ChunkSize   int    // backup_ceph_chunk_size: bytes copied at a time
	StripeUnit  int    // backup_ceph_stripe_unit (0: RBD's default)
	StripeCount int    // backup_ceph_stripe_count (0: RBD's default)
	// ImageJournals is backup_ceph_image_journals: backup images get the journaling and
	// exclusive-lock features (RBD mirroring).
	ImageJournals bool
	// RestoreDiscardExcess is restore_discard_excess_bytes: a restore zeroes the bytes of
	// the volume beyond the backup.
	RestoreDiscardExcess bool
}

// OptionsFrom answers the driver's Options from the [DEFAULT] backup options.
func OptionsFrom(b config.Backups) Options {
	return Options{
		Conf: b.CephConf, User: b.CephUser, Pool: b.CephPool, ChunkSize: b.CephChunkSize,
		StripeUnit: b.CephStripeUnit, StripeCount: b.CephStripeCount, ImageJournals: b.CephImageJournals,
		RestoreDiscardExcess: b.RestoreDiscardExcess,
	}
}

// Service is the driver's name as Cinder writes it in backups.service.
func Service() string { return config.BackupDriverCeph }
