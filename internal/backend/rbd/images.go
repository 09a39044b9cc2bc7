//go:build ceph

package rbd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/ceph/go-ceph/rbd"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/pkg/driver"
	"github.com/scoria/scoria/pkg/driver/qemuimg"
)

// Images (Cinder's clone_image, copy_image_to_volume and copy_volume_to_image of the RBD
// driver): a volume from a raw image that Glance keeps in this cluster is a copy-on-write
// clone of the image's snapshot; other images are written into the volume through librbd,
// and volumes are read out through it, skipping what reads as zeros both ways.

var (
	_ driver.ImageCloner = (*Driver)(nil)
	_ driver.ImageCopier = (*Driver)(nil)
)

// copyWorkers is how many chunks (one RBD object each) an image copy moves at once; its
// memory is copyWorkers buffers of the object size.
const copyWorkers = 4

// rbdLocation is a location of Glance's RBD store: rbd://<fsid>/<pool>/<image>/<snapshot>.
type rbdLocation struct{ FSID, Pool, Image, Snap string }

func (l rbdLocation) String() string { return l.Pool + "/" + l.Image + "@" + l.Snap }

// parseLocation reads an RBD store location as Cinder's _parse_location does: the rbd://
// scheme, four non-blank components, each URL-unquoted.
func parseLocation(loc string) (rbdLocation, error) {
	rest, ok := strings.CutPrefix(loc, "rbd://")
	if !ok {
		return rbdLocation{}, errors.New("not stored in RBD")
	}
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return rbdLocation{}, fmt.Errorf("bad escape in %q", p)
		}
		if u == "" {
			return rbdLocation{}, errors.New("blank components")
		}
		parts[i] = u
	}
	if len(parts) != 4 {
		return rbdLocation{}, errors.New("not an RBD snapshot")
	}
	return rbdLocation{FSID: parts[0], Pool: parts[1], Image: parts[2], Snap: parts[3]}, nil
}

// cloneSource is a readable snapshot of an image of this cluster, and what a clone of it needs.
type cloneSource struct {
	loc   rbdLocation
	size  uint64 // bytes of the snapshot
	order int    // its object size, as log2
}

// findCloneSource returns the first of the image's locations a volume can be cloned from, as
// Cinder's _is_cloneable decides: an RBD location in this cluster (fsid) whose snapshot this
// user can open. Without one it returns nil and why each location was refused.
func findCloneSource(s *session, locations []string) (*cloneSource, []string, error) {
	fsid, err := s.conn.GetFSID()
	if err != nil {
		return nil, nil, fmt.Errorf("cluster fsid: %w", err)
	}
	var why []string
	seen := map[string]bool{}
	for _, raw := range locations {
		if raw == "" || seen[raw] {
			continue
		}
		seen[raw] = true
		loc, err := parseLocation(raw)
		if err != nil {
			why = append(why, fmt.Sprintf("%s: %v", raw, err))
			continue
		}
		if loc.FSID != fsid {
			why = append(why, fmt.Sprintf("%s: in another Ceph cluster (fsid %s, ours %s)", raw, loc.FSID, fsid))
			continue
		}
		src, err := openSource(s, loc)
		if err != nil {
			if lostCluster(err) {
				return nil, why, err
			}
			why = append(why, fmt.Sprintf("%s: this user cannot open it: %v", raw, err))
			continue
		}
		return src, why, nil
	}
	if len(seen) == 0 {
		why = append(why, "the image has no location (Glance's show_image_direct_url and show_multiple_locations are off, or its store is not RBD)")
	}
	return nil, why, nil
}

// openSource opens loc's snapshot read-only and returns its size and order.
func openSource(s *session, loc rbdLocation) (*cloneSource, error) {
	ioctx, err := s.conn.OpenIOContext(loc.Pool)
	if err != nil {
		return nil, err
	}
	defer ioctx.Destroy()
	img, err := rbd.OpenImageReadOnly(ioctx, loc.Image, loc.Snap)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	st, err := img.Stat()
	if err != nil {
		return nil, err
	}
	return &cloneSource{loc: loc, size: st.Size, order: st.Order}, nil
}

// CloneImage makes volume-<id> a copy-on-write clone of the snapshot Glance keeps of a raw
// image in this cluster (Cinder's clone_image), grown to v.SizeGiB, and flattened when
// rbd_flatten_volume_from_snapshot is set or rbd_max_clone_depth is 0. It returns ok false,
// having made nothing, for an image that is not raw or has no location in this cluster that
// this user can read (Cinder's docs give rbd_user `profile rbd-read-only pool=images`, as
// deploy/ceph/ceph-up.sh does): the volume service downloads it then. A volume-<id> that already is a clone
// of that snapshot (a redelivered call) is finished; one that is something else is left alone
// with ok false. Why an image is not cloned is logged, one line.
func (d *Driver) CloneImage(ctx context.Context, v driver.Volume, img driver.Image) (driver.Data, bool, error) {
	log := reqctx.Log(ctx, logrus.StandardLogger()).WithFields(logrus.Fields{"volume_id": v.ID, "image_id": img.ID})
	if img.DiskFormat != "raw" {
		log.Infof("rbd: image not cloned: its disk_format is %q, a clone needs raw", img.DiskFormat)
		return driver.Data{}, false, nil
	}
	dst := driver.StorageName(v.ID)
	want := uint64(v.SizeGiB) * uint64(driver.GiB)
	var src *cloneSource
	var made bool
	err := d.conns().do(ctx, "clone image "+img.ID+" to "+dst, func(s *session) error {
		var why []string
		var err error
		if src, why, err = findCloneSource(s, img.Locations); err != nil || src == nil {
			if err == nil {
				log.Infof("rbd: image not cloned: %s", strings.Join(why, "; "))
			}
			return err
		}
		if src.size > want {
			return fmt.Errorf("image %s (%s) is %d bytes, larger than the %d GiB volume", img.ID, src.loc, src.size, v.SizeGiB)
		}
		switch parent, exists, err := parentOf(s, dst); {
		case err != nil:
			return err
		case exists && parent.String() == src.loc.String():
			return nil // made by an earlier call
		case exists:
			log.Infof("rbd: image not cloned: %s exists and is not a clone of %s", dst, src.loc)
			src = nil
			return nil
		}
		order := max(d.order(), uint64(src.order))
		if err := cloneFrom(s, src.loc, dst, order); err != nil {
			return fmt.Errorf("clone %s: %w", src.loc, err)
		}
		made = true
		return nil
	})
	if err != nil || src == nil {
		return driver.Data{}, false, err
	}
	if err := d.finishClone(ctx, dst, v.SizeGiB); err != nil {
		if made { // this call made it: leave nothing behind
			if rerr := d.deleteImage(context.WithoutCancel(ctx), dst); rerr != nil {
				err = fmt.Errorf("%w (and removing the clone: %v)", err, rerr)
			}
		}
		return driver.Data{}, false, err
	}
	log.Infof("rbd: volume cloned from %s", src.loc)
	return driver.Data{}, true, nil
}

// finishClone flattens a new image clone when the options ask for it, then grows it.
func (d *Driver) finishClone(ctx context.Context, dst string, gib int) error {
	if d.FlattenFromSnapshot || d.MaxCloneDepth <= 0 {
		if err := d.transfer(ctx, "flatten "+dst, func(s *session) error { return flatten(s, dst) }); err != nil {
			return err
		}
	}
	return d.conns().do(ctx, "resize "+dst, func(s *session) error { return growTo(s, dst, gib) })
}

// parentOf says whether image name exists in the pool and, for a clone, of which snapshot.
func parentOf(s *session, name string) (rbdLocation, bool, error) {
	img, err := rbd.OpenImageReadOnly(s.ioctx, name, rbd.NoSnapshot)
	if isNotFound(err) {
		return rbdLocation{}, false, nil
	}
	if err != nil {
		return rbdLocation{}, false, err
	}
	defer img.Close()
	info, err := img.GetParent()
	if isNotFound(err) {
		return rbdLocation{}, true, nil
	}
	if err != nil {
		return rbdLocation{}, true, err
	}
	return rbdLocation{Pool: info.Image.PoolName, Image: info.Image.ImageName, Snap: info.Snap.SnapName}, true, nil
}

// cloneFrom clones loc's snapshot into dst in the volumes pool: layering, and at least the
// source's object size (Cinder's _get_stripe_unit: a clone's objects may not be smaller).
func cloneFrom(s *session, loc rbdLocation, dst string, order uint64) error {
	ioctx, err := s.conn.OpenIOContext(loc.Pool)
	if err != nil {
		return err
	}
	defer ioctx.Destroy()
	opts := rbd.NewRbdImageOptions()
	defer opts.Destroy()
	if err := opts.SetUint64(rbd.ImageOptionFeatures, rbd.FeatureLayering); err != nil {
		return err
	}
	if err := opts.SetUint64(rbd.ImageOptionOrder, order); err != nil {
		return err
	}
	return rbd.CloneImage(ioctx, loc.Image, loc.Snap, s.ioctx, dst, opts)
}

// transfer runs fn, a long data transfer, with a session. Unlike do it does not bound the
// whole call by rados_op_timeout: every librados call in it is bounded by the connection's
// rados_osd_op_timeout, and fn stops between chunks when ctx ends.
func (d *Driver) transfer(ctx context.Context, what string, fn func(s *session) error) error {
	cctx, cancel := context.WithTimeout(ctx, d.Conn.OpTimeout)
	s, err := d.conns().get(cctx)
	cancel()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	err = typed(fn(s))
	d.conns().put(s, lostCluster(err))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// extent is a byte range [Off, Off+Len).
type extent struct{ Off, Len uint64 }

func (e extent) end() uint64 { return e.Off + e.Len }

// allocated lists the ranges of img that may hold data (its own objects and, for a clone,
// its parent's), sorted and merged: every byte outside them reads as zero.
func allocated(img *rbd.Image, size uint64) ([]extent, error) {
	if size == 0 {
		return nil, nil
	}
	var out []extent
	var mu sync.Mutex // librbd may call back from its own threads
	err := img.DiffIterate(rbd.DiffIterateConfig{
		Offset: 0, Length: size, IncludeParent: rbd.IncludeParent, WholeObject: rbd.EnableWholeObject,
		Callback: func(off, n uint64, exists int, _ interface{}) int {
			if exists != 0 {
				mu.Lock()
				out = append(out, extent{off, n})
				mu.Unlock()
			}
			return 0
		},
	})
	if err != nil {
		return nil, fmt.Errorf("diff-iterate: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Off < out[j].Off })
	merged := out[:0]
	for _, e := range out {
		if k := len(merged) - 1; k >= 0 && e.Off <= merged[k].end() {
			merged[k].Len = max(merged[k].end(), e.end()) - merged[k].Off
			continue
		}
		merged = append(merged, e)
	}
	return merged, nil
}

// chunks calls fn for every piece of the ranges, each within one object of size obj, from
// copyWorkers goroutines, each with a buffer of its own (buf[:n] of the piece's length). It
// stops at the first error or when ctx ends.
func chunks(ctx context.Context, ranges []extent, obj uint64, fn func(buf []byte, off uint64) error) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type piece struct{ off, n uint64 }
	work := make(chan piece)
	errc := make(chan error, copyWorkers)
	var wg sync.WaitGroup
	for w := 0; w < copyWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, obj)
			for p := range work {
				if err := fn(buf[:p.n], p.off); err != nil {
					errc <- err
					cancel()
					return
				}
			}
		}()
	}
feed:
	for _, r := range ranges {
		for off := r.Off; off < r.end(); {
			n := min(r.end(), (off/obj+1)*obj) - off
			select {
			case work <- piece{off, n}:
			case <-wctx.Done():
				break feed
			}
			off += n
		}
	}
	close(work)
	wg.Wait()
	close(errc)
	if err, ok := <-errc; ok {
		return err
	}
	return ctx.Err()
}

func isZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeros))
		if !bytes.Equal(b[:n], zeros[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

// zeros is a block of zeros to compare with and to write.
var zeros = make([]byte, 1<<20)

// zeroer makes ranges of a volume read as zeros, touching only where data may be (used): whole
// objects are discarded, pieces of objects written with zeros (librbd may skip a discard of
// part of an object: rbd_skip_partial_discard).
type zeroer struct {
	img  *rbd.Image
	obj  uint64
	used []extent
}

func (z *zeroer) zero(off, n uint64) error {
	end := off + n
	i := sort.Search(len(z.used), func(i int) bool { return z.used[i].end() > off })
	for ; i < len(z.used) && z.used[i].Off < end; i++ {
		lo, hi := max(off, z.used[i].Off), min(end, z.used[i].end())
		a, b := (lo+z.obj-1)/z.obj*z.obj, hi/z.obj*z.obj
		if a >= b {
			if err := z.writeZeros(lo, hi); err != nil {
				return err
			}
			continue
		}
		if err := z.writeZeros(lo, a); err != nil {
			return err
		}
		if _, err := z.img.Discard(a, b-a); err != nil {
			return fmt.Errorf("discard %d+%d: %w", a, b-a, err)
		}
		if err := z.writeZeros(b, hi); err != nil {
			return err
		}
	}
	return nil
}

func (z *zeroer) writeZeros(lo, hi uint64) error {
	for lo < hi {
		n := min(hi-lo, uint64(len(zeros)))
		if _, err := z.img.WriteAt(zeros[:n], int64(lo)); err != nil {
			return fmt.Errorf("write zeros at %d: %w", lo, err)
		}
		lo += n
	}
	return nil
}

// CopyImageToVolume writes the image in src over the whole of volume-<id> (Cinder's
// copy_image_to_volume): an image that is not raw is first converted by qemu-img into a raw
// file beside src.Path (removed after); its data is then written through librbd one object
// at a time, chunks of zeros skipped where the volume holds nothing and discarded where it
// does (a re-image), and so is everything after the image's end. Memory is bounded by
// copyWorkers objects. Running it again gives the same volume.
func (d *Driver) CopyImageToVolume(ctx context.Context, v driver.Volume, src driver.ImageFile) error {
	name := driver.StorageName(v.ID)
	raw := src.Path
	if qemuimg.FormatOf(src.Format) != "raw" {
		tmp, err := tempBeside(src.Path, ".raw")
		if err != nil {
			return err
		}
		defer os.Remove(tmp)
		if err := qemuimg.Convert(ctx, src, driver.ImageFile{Path: tmp, Format: "raw"}, qemuimg.Options{}); err != nil {
			return fmt.Errorf("convert image for %s: %w", name, err)
		}
		raw = tmp
	}
	f, err := os.Open(raw)
	if err != nil {
		return fmt.Errorf("copy image to %s: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("copy image to %s: %w", name, err)
	}
	size := uint64(fi.Size())
	return d.transfer(ctx, "copy image to "+name, func(s *session) error {
		img, err := rbd.OpenImage(s.ioctx, name, rbd.NoSnapshot)
		if err != nil {
			return err
		}
		defer img.Close()
		volSize, err := img.GetSize()
		if err != nil {
			return err
		}
		if size > volSize {
			return fmt.Errorf("the image's raw data is %d bytes, larger than the volume's %d", size, volSize)
		}
		st, err := img.Stat()
		if err != nil {
			return err
		}
		used, err := allocated(img, volSize)
		if err != nil {
			return err
		}
		z := &zeroer{img: img, obj: st.Obj_size, used: used}
		err = chunks(ctx, []extent{{0, size}}, st.Obj_size, func(buf []byte, off uint64) error {
			if _, err := f.ReadAt(buf, int64(off)); err != nil {
				return fmt.Errorf("read %s at %d: %w", raw, off, err)
			}
			if isZero(buf) {
				return z.zero(off, uint64(len(buf)))
			}
			if _, err := img.WriteAt(buf, int64(off)); err != nil {
				return fmt.Errorf("write at %d: %w", off, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := z.zero(size, volSize-size); err != nil {
			return err
		}
		return img.Flush()
	})
}

// CopyVolumeToImage writes the whole of volume-<id> into a new file dst.Path in dst.Format
// (Cinder's copy_volume_to_image): the volume is read through librbd into a sparse raw file
// beside dst.Path, only where it may hold data (its allocated extents and its parent's) and
// only chunks that are not zeros; that file becomes dst.Path, or qemu-img converts it to
// dst.Format there.
func (d *Driver) CopyVolumeToImage(ctx context.Context, v driver.Volume, dst driver.ImageFile) error {
	name := driver.StorageName(v.ID)
	if dst.Format == "" {
		return fmt.Errorf("copy %s to an image: no format", name)
	}
	tmp, err := tempBeside(dst.Path, ".raw")
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // renamed to dst.Path when the image is raw
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	err = d.transfer(ctx, "copy "+name+" to an image", func(s *session) error {
		img, err := rbd.OpenImageReadOnly(s.ioctx, name, rbd.NoSnapshot)
		if err != nil {
			return err
		}
		defer img.Close()
		st, err := img.Stat()
		if err != nil {
			return err
		}
		if err := f.Truncate(int64(st.Size)); err != nil {
			return err
		}
		used, err := allocated(img, st.Size)
		if err != nil {
			return err
		}
		return chunks(ctx, used, st.Obj_size, func(buf []byte, off uint64) error {
			if _, err := img.ReadAt(buf, int64(off)); err != nil {
				return fmt.Errorf("read at %d: %w", off, err)
			}
			if isZero(buf) {
				return nil
			}
			if _, err := f.WriteAt(buf, int64(off)); err != nil {
				return fmt.Errorf("write %s at %d: %w", tmp, off, err)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("copy %s to an image: %w", name, err)
	}
	if qemuimg.FormatOf(dst.Format) == "raw" {
		if err := os.Rename(tmp, dst.Path); err != nil {
			return fmt.Errorf("copy %s to an image: %w", name, err)
		}
		return nil
	}
	if err := qemuimg.Convert(ctx, driver.ImageFile{Path: tmp, Format: "raw"}, dst, qemuimg.Options{}); err != nil {
		os.Remove(dst.Path) // half written
		return fmt.Errorf("convert %s to %s: %w", name, dst.Format, err)
	}
	return nil
}

// tempBeside makes an empty file next to path (same directory, so on the volume service's
// image_conversion_dir) and returns its name.
func tempBeside(path, suffix string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*"+suffix)
	if err != nil {
		return "", fmt.Errorf("temporary file beside %s: %w", path, err)
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}
