// Package localfile is the local-file backend: one sparse raw file per volume in a directory,
// capacity from the filesystem. It is the all-in-one default and needs nothing installed.
// It registers itself as the driver "localfile" with its options (options.go, register.go).
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

	"golang.org/x/sys/unix"

	"github.com/scoria/scoria/pkg/driver"
)

// Version is reported as driver_version.
const Version = "1.0.0"

const tmpSuffix = ".partial"

// Driver keeps volumes as files named volume-<id> in Dir.
type Driver struct {
	Dir         string
	BackendName string // volume_backend_name
	PoolName    string // the single pool's name
	Reserved    int    // reserved_percentage
	OverSub     string // max_over_subscription_ratio
	// CapacityGB, when > 0, is the pool's size (local_capacity_gb) instead of the
	// filesystem's: a directory on a shared filesystem gets a budget of its own.
	CapacityGB float64
	// Thick (local_thin_provisioning = false) reports the pool as thick: every volume's full
	// size counts against free capacity, as if the files were not sparse.
	Thick bool
}

var _ driver.Driver = (*Driver)(nil)

func (d *Driver) path(v driver.Volume) string { return filepath.Join(d.Dir, driver.StorageName(v.ID)) }

// Setup creates the directory and removes partial files a crash left behind: a partial file
// never became a volume, so no volume can own it.
func (d *Driver) Setup(ctx context.Context) error {
	if d.Dir == "" {
		return fmt.Errorf("%w: local_volume_dir is empty", driver.ErrInvalidConfig)
	}
	if err := os.MkdirAll(d.Dir, 0o750); err != nil {
		return fmt.Errorf("create volume directory: %w", err)
	}
	entries, err := os.ReadDir(d.Dir)
	if err != nil {
		return fmt.Errorf("read volume directory: %w", err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), tmpSuffix) {
			if err := os.Remove(filepath.Join(d.Dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove partial file: %w", err)
			}
		}
	}
	return nil
}

// Create makes a sparse file of the volume's size. It is written under a temporary name and
// renamed into place, so a file named volume-<id> is always complete.
func (d *Driver) Create(ctx context.Context, v driver.Volume) (driver.Data, error) {
	size := int64(v.SizeGiB) * driver.GiB
	final := d.path(v)
	if st, err := os.Stat(final); err == nil {
		if st.Size() == size {
			return driver.Data{}, nil // a redelivered create: already done
		}
		return driver.Data{}, fmt.Errorf("volume file %s exists with size %d, want %d", final, st.Size(), size)
	}
	tmp := final + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return driver.Data{}, fmt.Errorf("create volume file: %w", noSpace(err))
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		os.Remove(tmp)
		return driver.Data{}, fmt.Errorf("size volume file: %w", noSpace(err))
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return driver.Data{}, fmt.Errorf("close volume file: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return driver.Data{}, fmt.Errorf("rename volume file: %w", err)
	}
	return driver.Data{}, nil
}

// Delete removes the volume's file; a missing file is fine.
func (d *Driver) Delete(ctx context.Context, v driver.Volume) error {
	for _, p := range []string{d.path(v), d.path(v) + tmpSuffix} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove volume file: %w", err)
		}
	}
	return nil
}

// Exists reports whether the volume's (complete) file exists.
func (d *Driver) Exists(ctx context.Context, v driver.Volume) (bool, error) {
	_, err := os.Stat(d.path(v))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("stat volume file: %w", err)
	}
}

// Stats reports the filesystem's capacity and the volumes' provisioned size as one pool.
func (d *Driver) Stats(ctx context.Context) (driver.Stats, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(d.Dir, &st); err != nil {
		return driver.Stats{}, fmt.Errorf("statfs %s: %w", d.Dir, err)
	}
	gib := float64(driver.GiB)
	total := float64(st.Blocks) * float64(st.Bsize) / gib
	free := float64(st.Bavail) * float64(st.Bsize) / gib
	var provisioned int64
	entries, err := os.ReadDir(d.Dir)
	if err != nil {
		return driver.Stats{}, fmt.Errorf("read volume directory: %w", err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "volume-") || strings.HasSuffix(e.Name(), tmpSuffix) {
			continue
		}
		if info, err := e.Info(); err == nil {
			provisioned += info.Size()
		}
	}
	var used, snapUsed int64 // bytes the volume and snapshot files really take (sparse files take little)
	for _, e := range entries {
		isVol, isSnap := strings.HasPrefix(e.Name(), "volume-"), strings.HasPrefix(e.Name(), "snapshot-")
		if !isVol && !isSnap || strings.HasSuffix(e.Name(), tmpSuffix) {
			continue
		}
		if info, err := e.Info(); err == nil {
			if sys, ok := info.Sys().(*syscall.Stat_t); ok {
				if isVol {
					used += sys.Blocks * 512
				} else {
					snapUsed += sys.Blocks * 512
				}
			}
		}
	}
	if d.CapacityGB > 0 {
		total = d.CapacityGB
		consumed := float64(used+snapUsed) / gib
		if d.Thick {
			consumed = float64(provisioned+snapUsed) / gib
		}
		free = min(total-consumed, free)
		if free < 0 {
			free = 0
		}
	}
	ratio := d.OverSub
	if ratio == "" {
		ratio = "20.0"
	}
	if d.Thick {
		ratio = "1.0"
	}
	return driver.Stats{
		VolumeBackendName: d.BackendName,
		VendorName:        "Scoria",
		DriverVersion:     Version,
		StorageProtocol:   "file",
		Extra:             capabilities(),
		Pools: []driver.Pool{{
			Name:                     d.PoolName,
			TotalCapacityGB:          driver.Capacity(round2(total)),
			FreeCapacityGB:           driver.Capacity(round2(free)),
			AllocatedCapacityGB:      round2(float64(provisioned) / gib),
			ProvisionedCapacityGB:    round2(float64(provisioned) / gib),
			ReservedPercentage:       d.Reserved,
			MaxOverSubscriptionRatio: ratio,
			ThinProvisioningSupport:  !d.Thick,
			ThickProvisioningSupport: d.Thick,
			Multiattach:              true,
		}},
	}, nil
}

func round2(f float64) float64 { return float64(int64(f*100)) / 100 }

// noSpace marks a full filesystem (ENOSPC, or EDQUOT of a quota) as driver.ErrNoSpace,
// keeping the message.
func noSpace(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return driver.Mark(err, driver.ErrNoSpace)
	}
	return err
}
