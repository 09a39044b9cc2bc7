package posix

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/backup"
	"github.com/scoria/scoria/internal/backup/chunked"
	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/volumeio"
)

// ErrNotInStore is what ImportRecord answers (wrapped) when the store does not hold the
// backup a record describes: its metadata or one of its objects is missing, or the
// metadata is of another backup.
var ErrNotInStore = errors.New("backup is not in the backup store")

// DriverOptions are the posix driver's settings.
type DriverOptions struct {
	// Path is backup_posix_path (for the NFS driver: the mounted share).
	Path string
	// Chunked are backup_file_size, backup_sha_block_size_bytes and
	// backup_compression_algorithm.
	Chunked chunked.Options
	// DefaultContainer is backup_container: the container of a backup whose request named
	// none; "" for Cinder's own, "<id[0:2]>/<id[2:4]>/<id>".
	DefaultContainer string
	// Service is the name written in backups.service: config.BackupDriverPosix when "".
	Service string
}

// Driver is Cinder's posix backup driver (and, on a mounted share, its NFS driver): a
// backup.Driver keeping backups in Cinder's chunked format in a directory.
type Driver struct {
	store   *Store
	opts    DriverOptions
	service string
	log     logrus.FieldLogger
	now     func() time.Time
}

var _ backup.Driver = (*Driver)(nil)

// NewDriver answers the driver of o; the chunked options are checked now, so that a bad
// backup_file_size or algorithm stops the service at start.
func NewDriver(o DriverOptions, log logrus.FieldLogger) (*Driver, error) {
	if log == nil {
		log = logrus.StandardLogger()
	}
	store, err := New(Options{Path: o.Path, Container: o.DefaultContainer, CreateContainers: true})
	if err != nil {
		return nil, err
	}
	if err := o.Chunked.Validate(); err != nil {
		return nil, err
	}
	if o.DefaultContainer != "" {
		if _, err := store.containerPath(o.DefaultContainer); err != nil {
			return nil, fmt.Errorf("backup_container: %w", err)
		}
	}
	service := o.Service
	if service == "" {
		service = config.BackupDriverPosix
	}
	return &Driver{store: store, opts: o, service: service, log: log, now: time.Now}, nil
}

// Service answers the driver's class path as Cinder writes it in backups.service.
func (d *Driver) Service() string { return d.service }

// Store answers the directory store the driver writes through.
func (d *Driver) Store() *Store { return d.store }

// engine answers an engine logging with ctx's request id.
func (d *Driver) engine(ctx context.Context, b *resource.Backup) (*chunked.Engine, logrus.FieldLogger, error) {
	log := reqctx.Log(ctx, d.log).WithField("backup_id", b.ID)
	e, err := chunked.New(d.store, d.opts.Chunked, log)
	return e, log, err
}

// container answers the container of b: the one it names, else backup_container, else
// Cinder's generated one.
func (d *Driver) container(b *resource.Backup) string {
	switch {
	case b.Container != "":
		return b.Container
	case d.opts.DefaultContainer != "":
		return d.opts.DefaultContainer
	}
	return ContainerName(b.ID, "")
}

// prefix answers b's object prefix in container: its service_metadata when recorded, else
// the prefix of an earlier attempt of the same backup found in the container (a backup
// service that died before recording it: its objects are then reused or cleared, never
// left behind), else a new one, Cinder's, stamped now. found says it was not new.
func (d *Driver) prefix(ctx context.Context, b *resource.Backup, container string) (prefix string, found bool, err error) {
	if b.ServiceMetadata != "" {
		return b.ServiceMetadata, true, nil
	}
	p, err := d.earlierPrefix(ctx, b, container)
	if err != nil || p != "" {
		return p, p != "", err
	}
	return ObjectPrefix(b.VolumeID, b.ID, d.now()), false, nil
}

// earlierPrefix finds, in container, objects named with a prefix of backup b
// ("volume_<volume>_<14 digits>_backup_<b.ID>") and answers the first such prefix, "" for
// none.
func (d *Driver) earlierPrefix(ctx context.Context, b *resource.Backup, container string) (string, error) {
	if b.VolumeID == "" || b.ID == "" {
		return "", nil
	}
	start := "volume_" + b.VolumeID + "_"
	names, err := d.store.List(ctx, container, start)
	if errors.Is(err, chunked.ErrInvalid) {
		return "", nil // a container name we cannot hold: nothing of b can be there
	}
	if err != nil {
		return "", fmt.Errorf("looking for an earlier attempt of backup %s: %w", b.ID, err)
	}
	end := "_backup_" + b.ID
	n := len(start) + len("20060102150405") + len(end)
	for _, name := range names {
		if len(name) < n {
			continue
		}
		p := name[:n]
		stamp := p[len(start) : len(start)+14]
		if strings.HasSuffix(p, end) && strings.Trim(stamp, "0123456789") == "" {
			return p, nil
		}
	}
	return "", nil
}

// ref answers the stored location of a backup as its row records it.
func ref(b *resource.Backup) (chunked.Ref, error) {
	if b.Container == "" || b.ServiceMetadata == "" {
		return chunked.Ref{}, fmt.Errorf("%w: backup %s has no container or object prefix (service_metadata) recorded", chunked.ErrInvalid, b.ID)
	}
	return chunked.Ref{Container: b.Container, Prefix: b.ServiceMetadata}, nil
}

// Backup stores all of src as backup b, incremental against parent when parent is not
// nil. A backup already complete under b's prefix is answered as it is.
func (d *Driver) Backup(ctx context.Context, b *resource.Backup, parent *resource.Backup, src volumeio.Device, progress backup.ProgressFunc) (backup.Result, error) {
	if src == nil {
		return backup.Result{}, fmt.Errorf("%w: backup %s: no volume to read", chunked.ErrInvalid, b.ID)
	}
	e, log, err := d.engine(ctx, b)
	if err != nil {
		return backup.Result{}, err
	}
	container := d.container(b)
	prefix, earlier, err := d.prefix(ctx, b, container)
	if err != nil {
		return backup.Result{}, err
	}
	desc := chunked.Description{
		BackupID:  b.ID,
		VolumeID:  b.VolumeID,
		Name:      optional(b.Name),
		CreatedAt: b.CreatedAt,
		Ref:       chunked.Ref{Container: container, Prefix: prefix},
	}
	if desc.Description = optional(b.Description); desc.CreatedAt.IsZero() {
		desc.CreatedAt = d.now()
	}
	if progress != nil {
		desc.Progress = chunked.ProgressFunc(progress)
	}
	if parent != nil {
		pref, err := ref(parent)
		if err != nil {
			return backup.Result{}, fmt.Errorf("parent of incremental backup %s: %w", b.ID, err)
		}
		desc.Parent = &pref
	}
	log.WithFields(logrus.Fields{"container": container, "prefix": prefix, "earlier_attempt": earlier,
		"incremental": parent != nil, "size": src.Size()}).Info("posix backup starting")
	res, err := e.Backup(ctx, src, src.Size(), desc)
	if err != nil {
		return backup.Result{}, fmt.Errorf("backup %s to container %s: %w", b.ID, container, err)
	}
	return backup.Result{Container: container, ServiceMetadata: prefix, ObjectCount: res.ObjectCount}, nil
}

// optional answers nil for "" (Python's None in the metadata), else s.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Restore writes the chain (full backup first, the backup asked last) over dst. The
// volume is taken to hold stale data: every byte of the backup is written, zeros too;
// bytes of dst beyond the backup's size are left as they are, as Cinder's chunked
// drivers do (restore_discard_excess_bytes is the ceph driver's).
func (d *Driver) Restore(ctx context.Context, chain []*resource.Backup, volumeID string, dst volumeio.Device, progress backup.ProgressFunc) error {
	return d.RestoreVolume(ctx, chain, volumeID, dst, progress, false)
}

// RestoreVolume is Restore with Cinder's volume_is_new: a volume made from the backup
// reads as zeros, so the full backup's zero ranges are not written and it stays sparse.
func (d *Driver) RestoreVolume(ctx context.Context, chain []*resource.Backup, volumeID string, dst volumeio.Device, progress backup.ProgressFunc, volumeIsNew bool) error {
	if len(chain) == 0 {
		return fmt.Errorf("%w: no backup to restore", chunked.ErrInvalid)
	}
	if dst == nil {
		return fmt.Errorf("%w: no volume to write", chunked.ErrInvalid)
	}
	asked := chain[len(chain)-1]
	e, log, err := d.engine(ctx, asked)
	if err != nil {
		return err
	}
	refs := make([]chunked.Ref, len(chain))
	for i, b := range chain {
		if refs[i], err = ref(b); err != nil {
			return err
		}
	}
	ro := chunked.RestoreOptions{VolumeIsNew: volumeIsNew}
	if progress != nil {
		ro.Progress = chunked.ProgressFunc(progress)
	}
	log.WithFields(logrus.Fields{"volume_id": volumeID, "chain": len(chain), "volume_is_new": volumeIsNew}).Info("posix restore starting")
	if _, err := e.Restore(ctx, refs, dst, ro); err != nil {
		return fmt.Errorf("restore of backup %s to volume %s: %w", asked.ID, volumeID, err)
	}
	return nil
}

// Delete removes b's objects; a backup already gone, or one that never stored anything,
// is not an error. A backup whose prefix was never recorded (its service died) has the
// objects of its attempt looked for and removed. The container is removed too when it is
// the one generated for b and is left empty.
func (d *Driver) Delete(ctx context.Context, b *resource.Backup) error {
	e, log, err := d.engine(ctx, b)
	if err != nil {
		return err
	}
	container := d.container(b)
	prefix := b.ServiceMetadata
	if prefix == "" {
		if prefix, err = d.earlierPrefix(ctx, b, container); err != nil {
			return err
		}
	}
	if prefix != "" {
		if err := e.Delete(ctx, chunked.Ref{Container: container, Prefix: prefix}); err != nil {
			return fmt.Errorf("delete of backup %s: %w", b.ID, err)
		}
	}
	if container == ContainerName(b.ID, "") {
		if err := d.store.RemoveContainer(container); err != nil {
			return fmt.Errorf("delete of backup %s: %w", b.ID, err)
		}
	}
	log.WithFields(logrus.Fields{"container": container, "prefix": prefix}).Info("posix backup deleted")
	return nil
}

// ExportRecord answers Cinder's chunked driver_info: nothing, the record's container and
// service_metadata say where the backup is.
func (d *Driver) ExportRecord(ctx context.Context, b *resource.Backup) (map[string]any, error) {
	return map[string]any{}, nil
}

// ImportRecord checks that the store holds backup b as its record says (container and
// service_metadata): its metadata names b, its sha256file is there and every object
// its metadata lists is in the container. Otherwise it answers ErrNotInStore, saying
// what is missing. driverInfo is Cinder's (empty) and not needed.
func (d *Driver) ImportRecord(ctx context.Context, b *resource.Backup, driverInfo map[string]any) error {
	e, log, err := d.engine(ctx, b)
	if err != nil {
		return err
	}
	r := chunked.Ref{Container: d.container(b), Prefix: b.ServiceMetadata}
	if r.Prefix == "" {
		return fmt.Errorf("%w: the record of backup %s has no service_metadata (object prefix)", ErrNotInStore, b.ID)
	}
	if _, err := d.store.containerPath(r.Container); err != nil {
		return fmt.Errorf("%w: backup %s: %w", ErrNotInStore, b.ID, err)
	}
	md, err := e.ReadMetadata(ctx, r)
	if err != nil {
		return fmt.Errorf("%w: backup %s in container %s under %s: %w", ErrNotInStore, b.ID, r.Container, r.Prefix, err)
	}
	if md.BackupID != b.ID {
		return fmt.Errorf("%w: %s in container %s is backup %s's, not %s", ErrNotInStore, chunked.MetadataName(r.Prefix), r.Container, md.BackupID, b.ID)
	}
	if _, err := e.ReadSHA256File(ctx, r); err != nil {
		return fmt.Errorf("%w: backup %s: %w", ErrNotInStore, b.ID, err)
	}
	names, err := d.store.List(ctx, r.Container, r.Prefix)
	if err != nil {
		return fmt.Errorf("backup %s: listing container %s: %w", b.ID, r.Container, err)
	}
	for _, o := range md.Objects {
		if _, ok := slices.BinarySearch(names, o.Name); !ok {
			return fmt.Errorf("%w: object %s of backup %s is missing from container %s", ErrNotInStore, o.Name, b.ID, r.Container)
		}
	}
	log.WithFields(logrus.Fields{"container": r.Container, "prefix": r.Prefix, "objects": len(md.Objects)}).Info("posix backup found for import")
	return nil
}
