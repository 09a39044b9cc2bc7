package localfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/pkg/driver"
)

// ListObjects lists the files of Dir that are Scoria's: volume-<id> and snapshot-<id>, and
// their copies in progress (<name>.partial, temporary). Other files are not listed.
func (d *Driver) ListObjects(ctx context.Context) ([]driver.Object, error) {
	entries, err := os.ReadDir(d.Dir)
	if err != nil {
		return nil, fmt.Errorf("read volume directory: %w", err)
	}
	var out []driver.Object
	for _, e := range entries {
		o, ok := parseObject(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the directory was read
		}
		if err != nil {
			return nil, fmt.Errorf("stat %s: %w", e.Name(), err)
		}
		o.Size, o.Changed = info.Size(), changed(info)
		out = append(out, o)
	}
	return out, nil
}

// changed is the later of a file's modification and status change times: a file renamed
// into place or written to has a recent one.
func changed(info fs.FileInfo) time.Time {
	t := info.ModTime()
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		if c := time.Unix(st.Ctim.Sec, st.Ctim.Nsec); c.After(t) {
			t = c
		}
	}
	return t
}

// parseObject reads a file name as one of Scoria's objects.
func parseObject(name string) (driver.Object, bool) {
	o := driver.Object{Name: name}
	base, partial := strings.CutSuffix(name, tmpSuffix)
	o.Temporary = partial
	var id string
	switch {
	case strings.HasPrefix(base, "volume-"):
		o.Kind, id = driver.KindVolume, strings.TrimPrefix(base, "volume-")
	case strings.HasPrefix(base, "snapshot-"):
		o.Kind, id = driver.KindSnapshot, strings.TrimPrefix(base, "snapshot-")
	default:
		return o, false
	}
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return o, false
	}
	o.ID = id
	return o, true
}

// DeleteObject removes the file of o, one of the objects ListObjects lists; a missing file
// is fine.
func (d *Driver) DeleteObject(ctx context.Context, o driver.Object) error {
	if _, ok := parseObject(o.Name); !ok {
		return fmt.Errorf("%q is not a volume or snapshot file", o.Name)
	}
	if err := os.Remove(filepath.Join(d.Dir, o.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", o.Name, err)
	}
	return nil
}
