//go:build ceph

package ceph

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/backup"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/volumeio"
)

// maxBuffer bounds the memory one copy holds: chunks larger than it are read and written in
// pieces of this size.
const maxBuffer = 32 << 20

// Driver keeps backups as RBD images (Cinder's CephBackupDriver).
type Driver struct {
	o   Options
	log logrus.FieldLogger

	// written counts the bytes the driver wrote into backup images and restored volumes,
	// discards not included: what a test checks an incremental copy against.
	written atomic.Int64
}

var _ backup.Driver = (*Driver)(nil)

// NewDriver checks o and answers the driver; it does not connect (each call does).
func NewDriver(o Options, log logrus.FieldLogger) (*Driver, error) {
	switch {
	case o.User == "":
		return nil, errors.New("backup_ceph_user is empty")
	case o.Pool == "":
		return nil, errors.New("backup_ceph_pool is empty")
	case o.Conf == "":
		return nil, errors.New("backup_ceph_conf is empty")
	case o.ChunkSize <= 0:
		return nil, fmt.Errorf("backup_ceph_chunk_size %d is not positive", o.ChunkSize)
	case o.StripeUnit < 0 || o.StripeCount < 0:
		return nil, errors.New("backup_ceph_stripe_unit and backup_ceph_stripe_count may not be negative")
	}
	if log == nil {
		log = logrus.StandardLogger()
	}
	return &Driver{o: o, log: log.WithField("backup_driver", "ceph")}, nil
}

// Service is Cinder's name of the ceph driver.
func (d *Driver) Service() string { return Service() }

func (d *Driver) logger(ctx context.Context) *logrus.Entry { return reqctx.Log(ctx, d.log) }

func (d *Driver) container(b *resource.Backup) string {
	if b.Container != "" {
		return b.Container
	}
	return d.o.Pool
}

// ---- connections ---------------------------------------------------------------------

// cluster is one connection with an I/O context on a pool.
type cluster struct {
	conn  *rados.Conn
	ioctx *rados.IOContext
}

func (c *cluster) close() {
	if c.ioctx != nil {
		c.ioctx.Destroy()
	}
	c.conn.Shutdown()
}

// errNoPool marks a pool that does not exist.
var errNoPool = errors.New("pool does not exist")

// dialBackup connects to the backup cluster and opens pool.
func (d *Driver) dialBackup(pool string) (*cluster, error) {
	return dial("ceph", d.o.User, d.o.Conf, nil, "", pool)
}

// dialSource connects to the cluster of an RBD volume: the backup cluster's conf, with the
// monitors and key of the volume's connection info when it names them.
func (d *Driver) dialSource(img volumeio.RBDImage) (*cluster, error) {
	user := img.User
	if user == "" {
		user = d.o.User
	}
	name := img.ClusterName
	if name == "" {
		name = "ceph"
	}
	return dial(name, user, d.o.Conf, img.Monitors, keyFrom(img.Keyring), img.Pool)
}

func dial(clusterName, user, conf string, mons []string, key, pool string) (*cluster, error) {
	conn, err := rados.NewConnWithClusterAndUser(clusterName, "client."+user)
	if err != nil {
		return nil, fmt.Errorf("rados: new connection as client.%s: %w", user, err)
	}
	if _, statErr := os.Stat(conf); statErr == nil || len(mons) == 0 {
		if err := conn.ReadConfigFile(conf); err != nil {
			conn.Shutdown()
			return nil, fmt.Errorf("rados: read %s: %w", conf, err)
		}
	}
	var opts [][2]string
	if len(mons) > 0 {
		opts = append(opts, [2]string{"mon_host", strings.Join(mons, ",")})
	}
	if key != "" {
		opts = append(opts, [2]string{"key", key})
	}
	for _, o := range opts {
		if err := conn.SetConfigOption(o[0], o[1]); err != nil {
			conn.Shutdown()
			return nil, fmt.Errorf("rados: set %s: %w", o[0], err)
		}
	}
	if err := conn.Connect(); err != nil {
		conn.Shutdown()
		return nil, fmt.Errorf("rados: connect as client.%s with %s: %w", user, conf, err)
	}
	ioctx, err := conn.OpenIOContext(pool)
	if err != nil {
		conn.Shutdown()
		if errors.Is(err, rados.ErrNotFound) {
			return nil, fmt.Errorf("open pool %q: %w", pool, errNoPool)
		}
		return nil, fmt.Errorf("rados: open pool %q: %w", pool, err)
	}
	return &cluster{conn: conn, ioctx: ioctx}, nil
}

func isNotFound(err error) bool {
	return errors.Is(err, rbd.ErrNotFound) || errors.Is(err, rbd.ErrNotExist) || errors.Is(err, rados.ErrNotFound)
}

func isBusy(err error) bool {
	var ce interface{ ErrorCode() int }
	return errors.As(err, &ce) && ce.ErrorCode() == -16 // EBUSY
}

// imageExists reports whether image name is in the pool.
func imageExists(ioctx *rados.IOContext, name string) (bool, error) {
	img, err := rbd.OpenImageReadOnly(ioctx, name, rbd.NoSnapshot)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("open %s: %w", name, err)
	}
	img.Close()
	return true, nil
}

// snapNames answers the names of img's snapshots.
func snapNames(img *rbd.Image) ([]string, error) {
	snaps, err := img.GetSnapshotNames()
	if err != nil {
		return nil, fmt.Errorf("list snapshots of %s: %w", img.GetName(), err)
	}
	out := make([]string, len(snaps))
	for i, s := range snaps {
		out[i] = s.Name
	}
	return out, nil
}

// imageSnaps answers the snapshot names of image name (nil, false when it does not exist).
func imageSnaps(ioctx *rados.IOContext, name string) ([]string, bool, error) {
	img, err := rbd.OpenImageReadOnly(ioctx, name, rbd.NoSnapshot)
	if isNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("open %s: %w", name, err)
	}
	defer img.Close()
	names, err := snapNames(img)
	return names, true, err
}

// createImage makes a backup image with Cinder's features: layering, striping when asked,
// exclusive-lock with object-map and fast-diff, journaling when backup_ceph_image_journals.
func (d *Driver) createImage(ioctx *rados.IOContext, name string, size int64) error {
	features := rbd.FeatureLayering | rbd.FeatureExclusiveLock | rbd.FeatureObjectMap | rbd.FeatureFastDiff
	if d.o.ImageJournals {
		features |= rbd.FeatureJournaling
	}
	opts := rbd.NewRbdImageOptions()
	defer opts.Destroy()
	set := []struct {
		o rbd.ImageOption
		v uint64
	}{{rbd.ImageOptionFormat, 2}}
	if d.o.StripeUnit != 0 || d.o.StripeCount != 0 {
		features |= rbd.FeatureStripingV2
		if d.o.StripeUnit != 0 {
			set = append(set, struct {
				o rbd.ImageOption
				v uint64
			}{rbd.ImageOptionStripeUnit, uint64(d.o.StripeUnit)})
		}
		if d.o.StripeCount != 0 {
			set = append(set, struct {
				o rbd.ImageOption
				v uint64
			}{rbd.ImageOptionStripeCount, uint64(d.o.StripeCount)})
		}
	}
	set = append(set, struct {
		o rbd.ImageOption
		v uint64
	}{rbd.ImageOptionFeatures, features})
	for _, s := range set {
		if err := opts.SetUint64(s.o, s.v); err != nil {
			return fmt.Errorf("image options of %s: %w", name, err)
		}
	}
	if err := rbd.CreateImage(ioctx, name, uint64(size), opts); err != nil {
		return fmt.Errorf("create backup image %s: %w", name, err)
	}
	return nil
}

// ---- backup --------------------------------------------------------------------------

// Backup backs src up into backup b: by snapshot diff when src is an RBD volume (and b is
// not of a snapshot), else as a full copy (Cinder's backup()). An incremental backup of a
// volume that is not RBD is refused, as Cinder refuses it.
func (d *Driver) Backup(ctx context.Context, b *resource.Backup, parent *resource.Backup, src volumeio.Device, progress backup.ProgressFunc) (backup.Result, error) {
	if progress == nil {
		progress = func(int64, int64) {}
	}
	if src.Size() <= 0 {
		return backup.Result{}, errors.New("need non-zero volume size")
	}
	res := backup.Result{Container: d.container(b)}
	if rdev, ok := src.(volumeio.RBDDevice); ok && b.SnapshotID == "" {
		base, err := d.backupRBD(ctx, b, parent, rdev, progress)
		if err != nil {
			return backup.Result{}, fmt.Errorf("backup %s of volume %s: %w", b.ID, b.VolumeID, err)
		}
		res.ServiceMetadata = encodeServiceMetadata(base)
		return res, nil
	}
	if parent != nil {
		return backup.Result{}, fmt.Errorf("backup %s of volume %s: the volume is not RBD: an incremental backup is not possible", b.ID, b.VolumeID)
	}
	if err := d.fullBackup(ctx, b, src, progress); err != nil {
		return backup.Result{}, fmt.Errorf("backup %s of volume %s: %w", b.ID, b.VolumeID, err)
	}
	return res, nil
}

// fullBackup copies src whole into volume-<volume>.backup.<id>, zero chunks skipped: written
// under a .tmp name, renamed when whole, so the image exists only complete.
func (d *Driver) fullBackup(ctx context.Context, b *resource.Backup, src volumeio.Device, progress backup.ProgressFunc) error {
	log := d.logger(ctx).WithFields(logrus.Fields{"backup_id": b.ID, "volume_id": b.VolumeID})
	c, err := d.dialBackup(d.container(b))
	if err != nil {
		return err
	}
	defer c.close()
	name := fullImageName(b.VolumeID, b.ID)
	if ok, err := imageExists(c.ioctx, name); err != nil || ok {
		if ok {
			log.WithField("image", name).Info("backup image already whole: backup done before")
		}
		return err
	}
	tmp := tmpName(name)
	if err := rbd.RemoveImage(c.ioctx, tmp); err != nil && !isNotFound(err) {
		return fmt.Errorf("remove the leftover %s: %w", tmp, err)
	}
	length := src.Size()
	if err := d.createImage(c.ioctx, tmp, length); err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			if err := rbd.RemoveImage(c.ioctx, tmp); err != nil && !isNotFound(err) {
				log.WithError(err).WithField("image", tmp).Warn("remove the partial backup image")
			}
		}
	}()
	dst, err := rbd.OpenImage(c.ioctx, tmp, rbd.NoSnapshot)
	if err != nil {
		return fmt.Errorf("open %s: %w", tmp, err)
	}
	start := time.Now()
	n, err := d.copyRange(ctx, src, dst, 0, length, true, func(done int64) { progress(done, length) })
	if err == nil {
		err = dst.Flush()
	}
	if cerr := dst.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", tmp, cerr)
	}
	if err != nil {
		return err
	}
	if err := rbd.GetImage(c.ioctx, tmp).Rename(name); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp, name, err)
	}
	ok = true
	log.WithFields(logrus.Fields{"image": name, "bytes": length, "written": n, "seconds": time.Since(start).Seconds()}).
		Info("full backup copied")
	return nil
}

// copyRange copies [off, off+length) of src to dst in chunks of backup_ceph_chunk_size (at
// most maxBuffer in memory); skipZero leaves all-zero pieces unwritten (dst is known zero
// there). It answers the bytes written.
func (d *Driver) copyRange(ctx context.Context, src interface {
	ReadAt([]byte, int64) (int, error)
}, dst interface {
	WriteAt([]byte, int64) (int, error)
}, off, length int64, skipZero bool, done func(int64)) (int64, error) {
	step := int64(d.o.ChunkSize)
	if step > maxBuffer {
		step = maxBuffer
	}
	if step > length {
		step = length
	}
	buf := make([]byte, step)
	var written int64
	for pos := off; pos < off+length; {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		p := buf[:min(step, off+length-pos)]
		if err := readFull(src, p, pos); err != nil {
			return written, err
		}
		if !skipZero || !allZero(p) {
			if _, err := dst.WriteAt(p, pos); err != nil {
				return written, fmt.Errorf("write %d bytes at %d: %w", len(p), pos, err)
			}
			written += int64(len(p))
			d.written.Add(int64(len(p)))
		}
		pos += int64(len(p))
		if done != nil {
			done(pos)
		}
	}
	return written, nil
}

func readFull(src interface {
	ReadAt([]byte, int64) (int, error)
}, p []byte, off int64) error {
	for got := 0; got < len(p); {
		n, err := src.ReadAt(p[got:], off+int64(got))
		got += n
		if got == len(p) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %d bytes at %d: %w", len(p), off, err)
		}
		if n == 0 {
			return fmt.Errorf("read %d bytes at %d: nothing read", len(p), off)
		}
	}
	return nil
}

// extent is a range an RBD diff reports: data (Exists) or a hole.
type extent struct {
	Off, Len uint64
	Exists   bool
}

// diffExtents answers the extents of img (opened at its "to" snapshot) that changed since
// snapshot from ("" for all its data, its parent's included).
func diffExtents(img *rbd.Image, from string, size uint64) ([]extent, error) {
	var out []extent
	if size == 0 {
		return nil, nil
	}
	err := img.DiffIterate(rbd.DiffIterateConfig{
		SnapName: from, Offset: 0, Length: size,
		IncludeParent: rbd.IncludeParent, WholeObject: rbd.DisableWholeObject,
		Callback: func(off, length uint64, exists int, _ interface{}) int {
			out = append(out, extent{Off: off, Len: length, Exists: exists != 0})
			return 0
		},
	})
	if err != nil {
		return nil, fmt.Errorf("diff of %s from %q: %w", img.GetName(), from, err)
	}
	return out, nil
}

// backupRBD is Cinder's _backup_rbd done natively: it answers the base image the backup is
// in. The base snapshot is made only once the data is in the base image.
func (d *Driver) backupRBD(ctx context.Context, b, parent *resource.Backup, src volumeio.RBDDevice, progress backup.ProgressFunc) (string, error) {
	srcInfo := src.RBD()
	log := d.logger(ctx).WithFields(logrus.Fields{"backup_id": b.ID, "volume_id": b.VolumeID,
		"source": srcInfo.Pool + "/" + srcInfo.Image})
	bc, err := d.dialBackup(d.container(b))
	if err != nil {
		return "", err
	}
	defer bc.close()

	// An incremental backup goes into its parent's base image, from the parent's snapshot;
	// when the base or that snapshot is gone it starts a base of its own, as a full one.
	var base, parentSnap string
	if parent != nil {
		cand := baseName(&resource.Backup{ID: b.ID, VolumeID: b.VolumeID}, parent)
		snaps, ok, err := imageSnaps(bc.ioctx, cand)
		if err != nil {
			return "", err
		}
		if ok {
			// Done before (the manager calls again after a crash): the snapshot is the proof.
			if s, err := snapOf(snaps, b.ID); err != nil || s != "" {
				if s != "" {
					log.WithFields(logrus.Fields{"base": cand, "snapshot": s}).Info("backup snapshot already in the base image: backup done before")
				}
				return cand, err
			}
			if parentSnap, err = snapOf(snaps, parent.ID); err != nil {
				return "", err
			}
		}
		if parentSnap != "" {
			base = cand
		} else {
			log.WithField("base", cand).Warn("no snapshot of the parent backup in its base image: the backup starts a base of its own")
		}
	}
	created := false
	if base == "" {
		base = fullImageName(b.VolumeID, b.ID)
		snaps, exists, err := imageSnaps(bc.ioctx, base)
		if err != nil {
			return "", err
		}
		if exists {
			if s, err := snapOf(snaps, b.ID); err != nil || s != "" {
				if s != "" {
					log.WithFields(logrus.Fields{"base": base, "snapshot": s}).Info("backup snapshot already in the base image: backup done before")
				}
				return base, err
			}
			// A killed backup's base: this backup's own image, with no snapshot of any
			// other backup (nothing can be based on an unfinished backup).
			if len(backupSnaps(snaps)) > 0 {
				return "", fmt.Errorf("base image %s holds snapshots of other backups", base)
			}
			if err := rbd.RemoveImage(bc.ioctx, base); err != nil && !isNotFound(err) {
				return "", fmt.Errorf("remove the partial base %s: %w", base, err)
			}
		}
	}

	sc, err := d.dialSource(srcInfo)
	if err != nil {
		return "", fmt.Errorf("source cluster: %w", err)
	}
	defer sc.close()
	srcImg, err := rbd.OpenImage(sc.ioctx, srcInfo.Image, rbd.NoSnapshot)
	if err != nil {
		return "", fmt.Errorf("open source %s/%s: %w", srcInfo.Pool, srcInfo.Image, err)
	}
	defer srcImg.Close()
	srcSnaps, err := snapNames(srcImg)
	if err != nil {
		return "", err
	}
	// Snapshots of this backup left by a killed attempt are stale.
	for _, s := range backupSnaps(srcSnaps) {
		if s.BackupID == b.ID {
			if err := srcImg.GetSnapshot(s.Name).Remove(); err != nil && !isNotFound(err) {
				return "", fmt.Errorf("remove stale source snapshot %s: %w", s.Name, err)
			}
		}
	}

	var fromSnap string
	if parentSnap == "" {
		size, err := srcImg.GetSize()
		if err != nil {
			return "", fmt.Errorf("size of the source: %w", err)
		}
		if err := d.createImage(bc.ioctx, base, int64(size)); err != nil {
			return "", err
		}
		created = true
	} else {
		for _, s := range srcSnaps {
			if s == parentSnap {
				fromSnap = parentSnap
			}
		}
		if fromSnap == "" {
			log.WithField("parent_snapshot", parentSnap).Info("the source has no snapshot of the parent backup: diff from nothing into the base")
		}
	}

	newSnap := newSnapName(b.ID, time.Now())
	if _, err := srcImg.CreateSnapshot(newSnap); err != nil {
		return "", fmt.Errorf("snapshot the source as %s: %w", newSnap, err)
	}
	ok := false
	defer func() {
		if ok {
			return
		}
		if err := srcImg.GetSnapshot(newSnap).Remove(); err != nil && !isNotFound(err) {
			log.WithError(err).WithField("snapshot", newSnap).Warn("remove the source snapshot of a failed backup")
		}
		if created {
			if err := rbd.RemoveImage(bc.ioctx, base); err != nil && !isNotFound(err) {
				log.WithError(err).WithField("base", base).Warn("remove the base image of a failed backup")
			}
		}
	}()

	start := time.Now()
	written, discarded, err := d.diffInto(ctx, sc.ioctx, srcInfo.Image, newSnap, fromSnap, bc.ioctx, base, progress)
	if err != nil {
		return "", err
	}
	baseImg, err := rbd.OpenImage(bc.ioctx, base, rbd.NoSnapshot)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", base, err)
	}
	_, err = baseImg.CreateSnapshot(newSnap)
	baseImg.Close()
	if err != nil {
		return "", fmt.Errorf("snapshot the base %s as %s: %w", base, newSnap, err)
	}
	ok = true
	log.WithFields(logrus.Fields{"base": base, "snapshot": newSnap, "from_snapshot": fromSnap,
		"written": written, "discarded": discarded, "seconds": time.Since(start).Seconds()}).Info("differential backup copied")

	// The source keeps only the newest backup snapshot (the next incremental's start).
	for _, s := range backupSnaps(srcSnaps) {
		if s.BackupID == b.ID || s.Name == newSnap {
			continue
		}
		if err := srcImg.GetSnapshot(s.Name).Remove(); err != nil && !isNotFound(err) {
			log.WithError(err).WithField("snapshot", s.Name).Warn("remove an older backup snapshot of the source")
		}
	}
	return base, nil
}

// diffInto writes into the head of image base the extents of srcName@snap that changed since
// fromSnap. With fromSnap "" the base head is first emptied (discarded) so that it equals the
// source after the copy. It answers the bytes written and discarded.
func (d *Driver) diffInto(ctx context.Context, srcIoctx *rados.IOContext, srcName, snap, fromSnap string,
	baseIoctx *rados.IOContext, base string, progress backup.ProgressFunc) (written, discarded int64, err error) {
	from, err := rbd.OpenImageReadOnly(srcIoctx, srcName, snap)
	if err != nil {
		return 0, 0, fmt.Errorf("open source snapshot %s@%s: %w", srcName, snap, err)
	}
	defer from.Close()
	size, err := from.GetSize()
	if err != nil {
		return 0, 0, fmt.Errorf("size of %s@%s: %w", srcName, snap, err)
	}
	extents, err := diffExtents(from, fromSnap, size)
	if err != nil {
		return 0, 0, err
	}
	to, err := rbd.OpenImage(baseIoctx, base, rbd.NoSnapshot)
	if err != nil {
		return 0, 0, fmt.Errorf("open %s: %w", base, err)
	}
	defer to.Close()
	cur, err := to.GetSize()
	if err != nil {
		return 0, 0, fmt.Errorf("size of %s: %w", base, err)
	}
	if cur != size {
		if err := to.Resize(size); err != nil {
			return 0, 0, fmt.Errorf("resize %s to %d: %w", base, size, err)
		}
	}
	if fromSnap == "" {
		if n, err := discard(to, 0, size); err != nil {
			return 0, 0, err
		} else {
			discarded += n
		}
	}
	total := int64(size)
	for _, e := range extents {
		if e.Exists {
			n, err := d.copyRange(ctx, from, to, int64(e.Off), int64(e.Len), false, func(done int64) { progress(done, total) })
			written += n
			if err != nil {
				return written, discarded, err
			}
			continue
		}
		if fromSnap == "" {
			continue // already discarded
		}
		n, err := discard(to, e.Off, e.Len)
		discarded += n
		if err != nil {
			return written, discarded, err
		}
	}
	if err := to.Flush(); err != nil {
		return written, discarded, fmt.Errorf("flush %s: %w", base, err)
	}
	progress(total, total)
	return written, discarded, nil
}

// discard frees [off, off+length) of img, in pieces librbd accepts (below 2 GiB).
func discard(img *rbd.Image, off, length uint64) (int64, error) {
	const limit = 1 << 30
	var n int64
	for length > 0 {
		l := min(length, limit)
		if _, err := img.Discard(off, l); err != nil {
			return n, fmt.Errorf("discard %d bytes at %d of %s: %w", l, off, img.GetName(), err)
		}
		n += int64(l)
		off += l
		length -= l
	}
	return n, nil
}

// ---- restore -------------------------------------------------------------------------

// Restore writes the last backup of chain over dst: from its snapshot of the base image, or
// from its full image (Cinder's _restore_volume).
func (d *Driver) Restore(ctx context.Context, chain []*resource.Backup, volumeID string, dst volumeio.Device, progress backup.ProgressFunc) error {
	if len(chain) == 0 {
		return errors.New("restore: no backup given")
	}
	if progress == nil {
		progress = func(int64, int64) {}
	}
	b := chain[len(chain)-1]
	var parent *resource.Backup
	if len(chain) > 1 {
		parent = chain[len(chain)-2]
	}
	log := d.logger(ctx).WithFields(logrus.Fields{"backup_id": b.ID, "volume_id": volumeID})
	c, err := d.dialBackup(d.container(b))
	if err != nil {
		return fmt.Errorf("restore backup %s: %w", b.ID, err)
	}
	defer c.close()
	name, point, err := d.locate(c.ioctx, b, parent)
	if err != nil {
		return fmt.Errorf("restore backup %s: %w", b.ID, err)
	}
	src, err := rbd.OpenImageReadOnly(c.ioctx, name, point)
	if err != nil {
		return fmt.Errorf("restore backup %s: open %s@%s: %w", b.ID, name, point, err)
	}
	defer src.Close()
	size, err := src.GetSize()
	if err != nil {
		return fmt.Errorf("restore backup %s: size of %s: %w", b.ID, name, err)
	}
	length := dst.Size()
	if int64(size) > length {
		return fmt.Errorf("restore backup %s: the volume (%d bytes) is smaller than the backup (%d bytes)", b.ID, length, size)
	}
	start := time.Now()
	mode := "full copy"
	if rdev, ok := dst.(volumeio.RBDDevice); ok && point != "" && volumeID != b.VolumeID {
		empty, err := d.hasNoData(rdev.RBD())
		if err != nil {
			log.WithError(err).Info("cannot tell whether the volume holds data: full restore")
		}
		if err == nil && empty {
			mode = "diff"
		}
	}
	var written int64
	if mode == "diff" {
		written, err = d.restoreDiff(ctx, src, size, dst, func(done int64) { progress(done, length) })
	} else {
		written, err = d.copyRange(ctx, src, dst, 0, int64(size), false, func(done int64) { progress(done, length) })
		if err == nil && int64(size) < length && d.o.RestoreDiscardExcess {
			var n int64
			n, err = d.zero(ctx, dst, int64(size), length-int64(size))
			written += n
		}
	}
	if err != nil {
		return fmt.Errorf("restore backup %s to volume %s (%s): %w", b.ID, volumeID, mode, err)
	}
	progress(length, length)
	log.WithFields(logrus.Fields{"image": name, "snapshot": point, "mode": mode, "written": written,
		"seconds": time.Since(start).Seconds()}).Info("backup restored")
	return nil
}

// locate answers the image and snapshot ("" for the image's head) that hold backup b,
// trying the legacy base name when the one expected is missing (Cinder's fallback), and a
// backup image of any volume for an imported backup (whose volume is not known here).
func (d *Driver) locate(ioctx *rados.IOContext, b, parent *resource.Backup) (string, string, error) {
	tries := []string{baseName(b, parent), legacyBaseName(b.VolumeID)}
	if b.VolumeID == resource.ImportVolumeID {
		names, err := rbd.GetImageNames(ioctx)
		if err != nil {
			return "", "", fmt.Errorf("list images: %w", err)
		}
		for _, n := range names {
			if strings.HasPrefix(n, "volume-") && strings.HasSuffix(n, ".backup."+b.ID) {
				tries = append(tries, n)
			}
		}
	}
	for _, name := range tries {
		snaps, ok, err := imageSnaps(ioctx, name)
		if err != nil {
			return "", "", err
		}
		if !ok {
			continue
		}
		point, err := snapOf(snaps, b.ID)
		if err != nil {
			return "", "", err
		}
		if point == "" && len(backupSnaps(snaps)) > 0 {
			// A base image without this backup's snapshot does not hold it.
			continue
		}
		return name, point, nil
	}
	return "", "", fmt.Errorf("backup image %s not found (nor %s)", tries[0], strings.Join(tries[1:], ", "))
}

// hasNoData reports whether the RBD image holds no data at all (Cinder's _rbd_has_extents).
func (d *Driver) hasNoData(img volumeio.RBDImage) (bool, error) {
	c, err := d.dialSource(img)
	if err != nil {
		return false, err
	}
	defer c.close()
	i, err := rbd.OpenImageReadOnly(c.ioctx, img.Image, rbd.NoSnapshot)
	if err != nil {
		return false, fmt.Errorf("open %s/%s: %w", img.Pool, img.Image, err)
	}
	defer i.Close()
	size, err := i.GetSize()
	if err != nil {
		return false, err
	}
	ext, err := diffExtents(i, "", size)
	if err != nil {
		return false, err
	}
	for _, e := range ext {
		if e.Exists {
			return false, nil
		}
	}
	return true, nil
}

// restoreDiff writes only the allocated extents of src into dst, which holds no data.
func (d *Driver) restoreDiff(ctx context.Context, src *rbd.Image, size uint64, dst volumeio.Device, done func(int64)) (int64, error) {
	ext, err := diffExtents(src, "", size)
	if err != nil {
		return 0, err
	}
	var written int64
	for _, e := range ext {
		if !e.Exists {
			continue
		}
		n, err := d.copyRange(ctx, src, dst, int64(e.Off), int64(e.Len), false, done)
		written += n
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// zero writes zeros over [off, off+length) of dst (Cinder's _discard_bytes of a file).
func (d *Driver) zero(ctx context.Context, dst volumeio.Device, off, length int64) (int64, error) {
	buf := make([]byte, min(int64(min(d.o.ChunkSize, maxBuffer)), length))
	var n int64
	for pos := off; pos < off+length; {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		p := buf[:min(int64(len(buf)), off+length-pos)]
		if _, err := dst.WriteAt(p, pos); err != nil {
			return n, fmt.Errorf("zero %d bytes at %d: %w", len(p), pos, err)
		}
		n += int64(len(p))
		d.written.Add(int64(len(p)))
		pos += int64(len(p))
	}
	return n, nil
}

// ---- delete --------------------------------------------------------------------------

// Delete removes backup b's snapshot from its base image, and the image with its last
// backup snapshot (Cinder's _try_delete_base_image); a full copy's image (and a killed
// copy's .tmp) goes with it. A backup whose row lost its service_metadata (its create was
// killed after the base snapshot was made) is looked for in every backup image of its
// volume. Missing images or pool are not an error.
func (d *Driver) Delete(ctx context.Context, b *resource.Backup) error {
	log := d.logger(ctx).WithFields(logrus.Fields{"backup_id": b.ID, "volume_id": b.VolumeID})
	pool := d.container(b)
	c, err := d.dialBackup(pool)
	if errors.Is(err, errNoPool) {
		log.WithField("pool", pool).Warn("the backup pool does not exist: nothing to delete")
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete backup %s: %w", b.ID, err)
	}
	defer c.close()

	own := fullImageName(b.VolumeID, b.ID)
	if err := rbd.RemoveImage(c.ioctx, tmpName(own)); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete backup %s: remove a partial copy: %w", b.ID, err)
	}
	names, err := rbd.GetImageNames(c.ioctx)
	if err != nil {
		return fmt.Errorf("delete backup %s: list images: %w", b.ID, err)
	}
	cands := []string{baseName(b, nil), own, legacyBaseName(b.VolumeID)}
	prefix := "volume-" + b.VolumeID + ".backup."
	if b.VolumeID == resource.ImportVolumeID {
		prefix = "volume-"
	}
	for _, n := range names {
		if strings.HasPrefix(n, prefix) && strings.Contains(n, ".backup.") && !strings.HasSuffix(n, ".tmp") {
			cands = append(cands, n)
		}
	}
	seen := map[string]bool{}
	found := false
	for _, n := range cands {
		if seen[n] {
			continue
		}
		seen[n] = true
		held, err := d.deleteFrom(ctx, c.ioctx, n, b.ID, n == own || n == baseFromMetadata(b.ServiceMetadata))
		if err != nil {
			return fmt.Errorf("delete backup %s: %w", b.ID, err)
		}
		found = found || held
	}
	if !found {
		log.WithField("image", baseName(b, nil)).Warn("backup image not found: deleting the backup's record only")
	}
	if err := c.ioctx.Delete(metaObjectName(b.ID)); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete backup %s: remove %s: %w", b.ID, metaObjectName(b.ID), err)
	}
	return nil
}

// deleteFrom removes backup id's snapshot from image name, and the image when it is left
// without backup snapshots and it held the backup or is its own (mine). It reports whether
// the image held the backup.
func (d *Driver) deleteFrom(ctx context.Context, ioctx *rados.IOContext, name, id string, mine bool) (bool, error) {
	log := d.logger(ctx).WithFields(logrus.Fields{"backup_id": id, "image": name})
	img, err := rbd.OpenImage(ioctx, name, rbd.NoSnapshot)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("open %s: %w", name, err)
	}
	names, err := snapNames(img)
	if err != nil {
		img.Close()
		return false, err
	}
	remaining, removed := 0, 0
	for _, s := range backupSnaps(names) {
		if s.BackupID != id {
			remaining++
			continue
		}
		if err := img.GetSnapshot(s.Name).Remove(); err != nil && !isNotFound(err) {
			img.Close()
			return false, fmt.Errorf("remove snapshot %s@%s: %w", name, s.Name, err)
		}
		removed++
		log.WithField("snapshot", s.Name).Info("backup snapshot removed")
	}
	img.Close()
	held := mine || removed > 0
	if !held {
		return false, nil
	}
	if remaining > 0 {
		log.WithField("snapshots", remaining).Info("the base image still holds other backups: kept")
		return true, nil
	}
	for retries := 3; ; retries-- {
		err := rbd.RemoveImage(ioctx, name)
		if err == nil || isNotFound(err) {
			log.Info("backup image removed")
			return true, nil
		}
		if !isBusy(err) || retries == 0 {
			return true, fmt.Errorf("remove %s: %w", name, err)
		}
		log.WithError(err).WithField("retries", retries).Info("backup image busy: retrying")
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
}

// ---- export and import ---------------------------------------------------------------

// ExportRecord answers Cinder's ceph driver_info: none (an empty map).
func (d *Driver) ExportRecord(ctx context.Context, b *resource.Backup) (map[string]any, error) {
	return map[string]any{}, nil
}

// ImportRecord checks that the backup pool holds backup b: its snapshot of the base image
// named in its service_metadata, or its full image.
func (d *Driver) ImportRecord(ctx context.Context, b *resource.Backup, driverInfo map[string]any) error {
	c, err := d.dialBackup(d.container(b))
	if err != nil {
		return fmt.Errorf("import backup %s: %w", b.ID, err)
	}
	defer c.close()
	name, point, err := d.locate(c.ioctx, b, nil)
	if err != nil {
		return fmt.Errorf("import backup %s: %w", b.ID, err)
	}
	if baseFromMetadata(b.ServiceMetadata) != "" && point == "" {
		return fmt.Errorf("import backup %s: base image %s has no snapshot of it", b.ID, name)
	}
	d.logger(ctx).WithFields(logrus.Fields{"backup_id": b.ID, "image": name, "snapshot": point}).Info("imported backup found in the pool")
	return nil
}
