//go:build ceph

package rbd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ceph/go-ceph/rbd"
	"github.com/google/uuid"

	"github.com/scoria/scoria/pkg/driver"
)

// ListObjects lists the pool's images and snapshots that are Scoria's (Cinder's names):
// images volume-<id> and volume-<id>.deleted (a deleted volume kept while clones depend on
// it; temporary), and on them the snapshots snapshot-<id> and volume-<new>.clone_snap (the
// snapshot clone <new> hangs from; temporary), named image@snapshot. An image or snapshot
// with clones is Held. Other images are not listed.
func (d *Driver) ListObjects(ctx context.Context) ([]driver.Object, error) {
	var out []driver.Object
	err := d.conns().do(ctx, "list images", func(s *session) error {
		out = out[:0]
		names, err := rbd.GetImageNames(s.ioctx)
		if err != nil {
			return err
		}
		for _, name := range names {
			o, ok := parseImage(name)
			if !ok {
				continue
			}
			objs, err := imageObjects(s, o)
			if isNotFound(err) {
				continue // removed since the pool was listed
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			out = append(out, objs...)
		}
		return nil
	})
	return out, err
}

// imageObjects returns image o (filled in) and its snapshots that are Scoria's.
func imageObjects(s *session, o driver.Object) ([]driver.Object, error) {
	img, err := rbd.OpenImageReadOnly(s.ioctx, o.Name, rbd.NoSnapshot)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	size, err := img.GetSize()
	if err != nil {
		return nil, err
	}
	o.Size = int64(size)
	if t, err := img.GetCreateTimestamp(); err == nil {
		o.Changed = time.Unix(t.Sec, t.Nsec)
	}
	if t, err := img.GetModifyTimestamp(); err == nil && time.Unix(t.Sec, t.Nsec).After(o.Changed) {
		o.Changed = time.Unix(t.Sec, t.Nsec)
	}
	snaps, err := img.GetSnapshotNames()
	if err != nil {
		return nil, err
	}
	out := []driver.Object{}
	for _, sn := range snaps {
		if strings.HasPrefix(sn.Name, groupSnapPrefix) { // a group snapshot's: the image is held by it
			o.Held = true
			continue
		}
		children, err := childrenOf(img, sn.Name)
		if err != nil {
			return nil, err
		}
		if len(children) > 0 {
			o.Held = true // removing the image needs its clones gone first
		}
		so, ok := parseSnap(o.Name, sn.Name)
		if !ok {
			continue
		}
		so.Size, so.Held = int64(sn.Size), len(children) > 0
		if t, err := img.GetSnapTimestamp(sn.Id); err == nil {
			so.Changed = time.Unix(t.Sec, t.Nsec)
		}
		out = append(out, so)
	}
	return append(out, o), nil
}

func isUUID(id string) bool { u, err := uuid.Parse(id); return err == nil && u.String() == id }

// parseImage reads an image name as one of Scoria's volumes.
func parseImage(name string) (driver.Object, bool) {
	base, deleted := strings.CutSuffix(name, deletedSuffix)
	id, ok := strings.CutPrefix(base, "volume-")
	if !ok || !isUUID(id) {
		return driver.Object{}, false
	}
	return driver.Object{Name: name, Kind: driver.KindVolume, ID: id, Temporary: deleted}, true
}

// parseSnap reads snapshot snap of image as one of Scoria's snapshot objects.
func parseSnap(image, snap string) (driver.Object, bool) {
	o := driver.Object{Name: image + "@" + snap}
	if id, ok := strings.CutPrefix(snap, "snapshot-"); ok && isUUID(id) {
		o.Kind, o.ID = driver.KindSnapshot, id
		return o, true
	}
	if base, ok := strings.CutSuffix(snap, cloneSnapSuffix); ok {
		if id, ok := strings.CutPrefix(base, "volume-"); ok && isUUID(id) {
			o.Kind, o.ID, o.Temporary = driver.KindVolume, id, true
			return o, true
		}
	}
	return o, false
}

// DeleteObject removes o, one ListObjects lists: an image as Delete removes a volume (a
// .deleted image only when nothing depends on it any more), a snapshot unprotected and
// removed (ErrSnapshotBusy while it has clones). A missing one is fine.
func (d *Driver) DeleteObject(ctx context.Context, o driver.Object) error {
	image, snap, isSnap := strings.Cut(o.Name, "@")
	if _, ok := parseImage(image); !ok {
		return fmt.Errorf("%q is not one of Scoria's images", o.Name)
	}
	if !isSnap {
		return d.deleteImage(ctx, image)
	}
	if _, ok := parseSnap(image, snap); !ok {
		return fmt.Errorf("%q is not one of Scoria's snapshots", o.Name)
	}
	return d.conns().do(ctx, "delete snapshot "+o.Name, func(s *session) error {
		img, err := rbd.OpenImage(s.ioctx, image, rbd.NoSnapshot)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		defer img.Close()
		return removeSnap(img, snap)
	})
}
