package lvm

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/pkg/driver"
)

// objectRow is one row of the inventory's `lvs`: the fields of lvReport and the creation time.
type objectRow struct {
	lvReport
	Time string `json:"lv_time"`
}

// lvTimeLayout is how lvm prints lv_time under LC_ALL=C.
const lvTimeLayout = "2006-01-02 15:04:05 -0700"

// ListObjects lists the logical volumes of the group that are Scoria's: volume-<id>,
// _snapshot-<id>, and the temporary volume-<id>.partial (a copy in progress) and
// clone-snap-<id> (the snapshot a thick clone <id> copies from). The thin pool and other
// logical volumes are not listed. A thick volume with snapshots is Held: removing it would
// take its snapshots with it.
func (d *Driver) ListObjects(ctx context.Context) ([]driver.Object, error) {
	rows, err := report[objectRow](ctx, d, "lvs", "lv", append(append([]string{}, lvFields...), "lv_time"), d.VolumeGroup)
	if err != nil {
		return nil, fmt.Errorf("list the logical volumes of %s: %w", d.VolumeGroup, err)
	}
	origins := map[string]bool{} // thick origins of snapshots
	for _, r := range rows {
		if r.Origin != "" && r.Pool == "" {
			origins[r.Origin] = true
		}
	}
	var out []driver.Object
	for _, r := range rows {
		o, ok := parseLV(r.Name)
		if !ok {
			continue
		}
		o.Size, o.Held = r.bytes(), origins[r.Name]
		if t, err := time.Parse(lvTimeLayout, strings.TrimSpace(r.Time)); err == nil {
			o.Changed = t
		}
		out = append(out, o)
	}
	return out, nil
}

// parseLV reads a logical volume's name as one of Scoria's objects.
func parseLV(name string) (driver.Object, bool) {
	o := driver.Object{Name: name}
	var id string
	switch {
	case strings.HasPrefix(name, "volume-"):
		base, partial := strings.CutSuffix(name, ".partial")
		o.Kind, o.Temporary, id = driver.KindVolume, partial, strings.TrimPrefix(base, "volume-")
	case strings.HasPrefix(name, "clone-snap-"):
		o.Kind, o.Temporary, id = driver.KindVolume, true, strings.TrimPrefix(name, "clone-snap-")
	case strings.HasPrefix(name, "_snapshot-"):
		o.Kind, id = driver.KindSnapshot, strings.TrimPrefix(name, "_snapshot-")
	default:
		return o, false
	}
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return o, false
	}
	o.ID = id
	return o, true
}

// DeleteObject removes logical volume o.Name, one ListObjects lists, clearing it first as a
// delete of its kind does (volume_clear): a thick volume or copy is zeroed, a thick
// snapshot's copy-on-write area too; a thin one goes back to the pool. A missing one is fine.
func (d *Driver) DeleteObject(ctx context.Context, o driver.Object) error {
	if _, ok := parseLV(o.Name); !ok {
		return fmt.Errorf("%q is not one of Scoria's logical volumes", o.Name)
	}
	lvs, err := d.lvs(ctx)
	if err != nil {
		return err
	}
	lv, ok := lvs[o.Name]
	if !ok {
		return nil
	}
	if lv.Pool == "" { // thick
		switch {
		case lv.Origin != "": // a snapshot: its copy-on-write area holds the changed blocks
			if err := d.clear(ctx, d.cowPath(o.Name), lv.bytes()); err != nil {
				return err
			}
		default:
			if err := d.clear(ctx, d.devPath(o.Name), lv.bytes()); err != nil {
				return err
			}
		}
	}
	return d.removeLV(ctx, o.Name)
}
