package nfs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/scoria/scoria/pkg/driver"
)

// chainInfo is Cinder's volume-<id>.info file: "active" names the file a hypervisor opens
// (the volume file, or the newest snapshot overlay), and each snapshot id names the overlay
// made when that snapshot was taken (the snapshot's data is that overlay's backing file).
type chainInfo map[string]string

const activeKey = "active"

// snapshots returns the snapshot ids of info.
func (c chainInfo) snapshots() []string {
	var ids []string
	for k := range c {
		if k != activeKey {
			ids = append(ids, k)
		}
	}
	return ids
}

func infoPath(volumePath string) string { return volumePath + ".info" }

// readInfo reads the .info file of the volume file volumePath; a missing one is empty.
func readInfo(volumePath string) (chainInfo, error) {
	b, err := os.ReadFile(infoPath(volumePath))
	if errors.Is(err, fs.ErrNotExist) {
		return chainInfo{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", infoPath(volumePath), err)
	}
	info := chainInfo{}
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("read %s: %w", infoPath(volumePath), err)
	}
	return info, nil
}

// writeInfo replaces the .info file of volumePath atomically, as Cinder writes it (JSON,
// sorted keys, indent 1).
func (d *Driver) writeInfo(volumePath string, info chainInfo) error {
	if info[activeKey] == "" {
		return fmt.Errorf("'active' must be present when writing snap_info")
	}
	b, err := json.MarshalIndent(info, "", " ")
	if err != nil {
		return err
	}
	path := infoPath(volumePath)
	tmp := path + tmpSuffix
	if err := os.WriteFile(tmp, b, d.fileMode()); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", tmp, noSpace(err))
	}
	return d.finish(tmp, path)
}

// active returns the file a hypervisor opens for volume v on share s (relative to the share)
// and its format, with the volume's chain info.
func (d *Driver) active(ctx context.Context, s Share, v driver.Volume) (string, string, chainInfo, error) {
	base := d.volumePath(s, v)
	info, err := readInfo(base)
	if err != nil {
		return "", "", nil, err
	}
	name := info[activeKey]
	if name == "" || name == filepath.Base(base) {
		f, err := d.baseFormat(ctx, s, v, info)
		return filepath.Base(base), f, info, err
	}
	return name, FormatQCOW2, info, nil
}

// baseFormat is the format of volume v's own file. With snapshots, the overlay on it records
// it (qemu-img wrote it there, -F). Without, it is the configured format: a raw volume is
// never probed (its guest could have written a qcow2 header into it), a qcow2 one is checked.
func (d *Driver) baseFormat(ctx context.Context, s Share, v driver.Volume, info chainInfo) (string, error) {
	base := d.volumePath(s, v)
	for _, id := range info.snapshots() {
		ii, err := d.imageInfo(ctx, filepath.Join(d.mountPoint(s), info[id]), filepath.Base(base), FormatQCOW2)
		if err != nil {
			continue // an overlay removed by an interrupted delete: another one tells
		}
		if ii.BackingFile == filepath.Base(base) && (ii.BackingFmt == FormatRaw || ii.BackingFmt == FormatQCOW2) {
			return ii.BackingFmt, nil
		}
	}
	if !d.QCOW2 {
		return FormatRaw, nil
	}
	ii, err := d.imageInfo(ctx, base, filepath.Base(base), "")
	if err != nil {
		return "", err
	}
	if ii.Format != FormatRaw && ii.Format != FormatQCOW2 {
		return "", fmt.Errorf("volume file %s is %s, not raw or qcow2", base, ii.Format)
	}
	return ii.Format, nil
}

// readDir lists dir's files with their sizes and change times.
func readDir(dir string) ([]dirEntry, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	out := make([]dirEntry, 0, len(entries))
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, dirEntry{name: e.Name(), size: info.Size(), mod: info.ModTime()})
	}
	return out, nil
}

func statFile(path string) (os.FileInfo, error) { return os.Stat(path) }

// removeFile removes path; a missing one is fine.
func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}
