package nfs

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/scoria/scoria/pkg/driver"
)

// InitializeConnection answers os-brick's RemoteFS connector as Cinder's NfsDriver does:
// driver_volume_type "nfs", data.export (the share), data.name (the active file: the volume
// file, or its newest snapshot overlay), data.options (the share's mount options, null when
// it has none) and data.format (raw or qcow2). A file whose virtual size exceeds the volume's
// is refused, as Cinder refuses it (a guest may have written a crafted qcow2 header).
func (d *Driver) InitializeConnection(ctx context.Context, v driver.Volume, c driver.Connector) (driver.ConnectionInfo, error) {
	s, found, err := d.locate(ctx, v)
	if err != nil {
		return driver.ConnectionInfo{}, err
	}
	if !found {
		return driver.ConnectionInfo{}, driver.Mark(fmt.Errorf("volume %s has no file on any share", v.ID), driver.ErrNotFound)
	}
	active, format, _, err := d.active(ctx, s, v)
	if err != nil {
		return driver.ConnectionInfo{}, err
	}
	ii, err := d.imageInfo(ctx, filepath.Join(d.mountPoint(s), active), driver.StorageName(v.ID), format)
	if err != nil {
		return driver.ConnectionInfo{}, err
	}
	if ii.Format != FormatRaw && ii.Format != FormatQCOW2 {
		return driver.ConnectionInfo{}, fmt.Errorf("Invalid volume: nfs volume must be a valid raw or qcow2 image.")
	}
	if (ii.VirtualSize+driver.GiB-1)/driver.GiB > int64(v.SizeGiB) {
		return driver.ConnectionInfo{}, fmt.Errorf("Invalid volume: The volume virtual_size does not match the size in cinder, aborting as we suspect an exploit.")
	}
	var options any
	if sh, ok := d.share(s.Address); ok && strings.TrimSpace(sh.Options) != "" {
		options = sh.Options
	}
	return driver.ConnectionInfo{DriverVolumeType: "nfs", Data: map[string]any{
		"export":  s.Address,
		"name":    active,
		"options": options,
		"format":  ii.Format,
	}}, nil
}

// TerminateConnection has nothing to undo: the share stays exported to every host.
func (d *Driver) TerminateConnection(ctx context.Context, v driver.Volume, c driver.Connector) error {
	return nil
}

// ListObjects lists the volumes on the shares (volume-<id>) and the partial files of copies
// in progress; a volume's .info file and snapshot overlays belong to its volume and go with
// it. A share that is down makes the list unknown: an error, so that nothing on it is taken
// for missing.
func (d *Driver) ListObjects(ctx context.Context) ([]driver.Object, error) {
	var out []driver.Object
	for _, s := range d.Shares {
		if err := d.ensureMounted(ctx, s); err != nil {
			return nil, driver.Mark(err, driver.ErrUnavailable)
		}
		entries, err := readDir(d.mountPoint(s))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			id, rest, ok := strings.Cut(strings.TrimPrefix(e.name, "volume-"), ".")
			if !strings.HasPrefix(e.name, "volume-") || len(id) != 36 {
				continue
			}
			switch {
			case !ok:
				out = append(out, driver.Object{Name: e.name, Kind: driver.KindVolume, ID: id, Size: e.size, Changed: e.mod})
			case strings.HasSuffix(rest, strings.TrimPrefix(tmpSuffix, ".")):
				out = append(out, driver.Object{Name: e.name, Kind: driver.KindVolume, ID: id, Temporary: true, Size: e.size, Changed: e.mod})
			}
		}
	}
	return out, nil
}

// DeleteObject removes o: a partial file alone, a volume with all its files.
func (d *Driver) DeleteObject(ctx context.Context, o driver.Object) error {
	for _, s := range d.Shares {
		if err := d.ensureMounted(ctx, s); err != nil {
			return driver.Mark(err, driver.ErrUnavailable)
		}
		path := filepath.Join(d.mountPoint(s), o.Name)
		if _, err := statFile(path); err != nil {
			continue
		}
		if o.Temporary {
			return removeFile(path)
		}
		return d.removeVolumeFiles(s, o.ID)
	}
	return nil
}

type dirEntry struct {
	name string
	size int64
	mod  time.Time
}
