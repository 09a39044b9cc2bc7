// Package lvm is Scoria's LVM backend, Cinder's LVMVolumeDriver: each volume is a logical
// volume volume-<id> in one volume group, thick or thin (in the pool <vg>-pool), and every
// LVM command goes through one funnel (Driver.lvm) that reads lvm's reports as JSON.
// It registers itself as the driver "lvm" with its options (options.go, register.go).
package lvm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scoria/scoria/pkg/driver"
)

// The values of lvm_type and volume_clear.
const (
	TypeDefault = "default"
	TypeThin    = "thin"
	TypeAuto    = "auto"
	ClearZero   = "zero"
	ClearNone   = "none"
)

// DefaultTimeout bounds an LVM command when Driver.Timeout is zero.
const DefaultTimeout = 2 * time.Minute

// Driver is the LVM backend. Its exported fields are its configuration, set before Setup;
// Setup resolves lvm_type auto and makes the thin pool when thin.
type Driver struct {
	VolumeGroup        string        // volume_group
	Type               string        // lvm_type: TypeDefault, TypeThin or TypeAuto
	ConfFile           string        // lvm_conf_file; "" or "None": none
	Clear              string        // volume_clear: ClearZero or ClearNone
	ClearSizeMiB       int           // volume_clear_size: MiB to clear, 0 all
	SuppressFDWarnings bool          // lvm_suppress_fd_warnings
	LVMBinary          string        // the lvm binary; "" is "lvm"
	DDBinary           string        // the dd binary; "" is "dd"
	Timeout            time.Duration // bounds each LVM command; 0 is DefaultTimeout
	BackendName        string        // volume_backend_name, also the pool's name
	Reserved           int           // reserved_percentage
	OverSub            string        // max_over_subscription_ratio
	Runner             Runner        // runs the commands; nil is ExecRunner

	mu   sync.Mutex
	thin bool // resolved lvm_type, set by Setup
}

var (
	_ driver.Driver      = (*Driver)(nil)
	_ driver.LocalDevice = (*Driver)(nil)
)

func (d *Driver) runner() Runner {
	if d.Runner == nil {
		return ExecRunner{}
	}
	return d.Runner
}

func (d *Driver) lvmBinary() string {
	if d.LVMBinary == "" {
		return "lvm"
	}
	return d.LVMBinary
}

func (d *Driver) ddBinary() string {
	if d.DDBinary == "" {
		return "dd"
	}
	return d.DDBinary
}

func (d *Driver) timeout() time.Duration {
	if d.Timeout <= 0 {
		return DefaultTimeout
	}
	return d.Timeout
}

// confDir is the LVM_SYSTEM_DIR of lvm_conf_file: its directory when the file exists, as
// Cinder does; "" without a file of its own.
func (d *Driver) confDir() string {
	if d.ConfFile == "" || strings.EqualFold(d.ConfFile, "none") {
		return ""
	}
	if _, err := os.Stat(d.ConfFile); err != nil {
		return ""
	}
	return filepath.Dir(d.ConfFile)
}

func (d *Driver) isThin() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.thin
}

// poolName is the thin pool's logical volume, as Cinder names it.
func (d *Driver) poolName() string { return d.VolumeGroup + "-pool" }

// path is the logical volume's vg/lv, as lvm commands name it.
func (d *Driver) path(lv string) string { return d.VolumeGroup + "/" + lv }

// devPath is the logical volume's device node.
func (d *Driver) devPath(lv string) string { return "/dev/" + d.VolumeGroup + "/" + lv }

// snapshotLV is a snapshot's logical volume: Cinder's "_snapshot-<id>" (LVM reserves names
// that begin with "snapshot").
func snapshotLV(id string) string { return "_" + driver.SnapshotStorageName(id) }

// partial is the name a copy is written under until it is complete.
func partial(lv string) string { return lv + ".partial" }

// DevicePath is the volume's device node, /dev/<vg>/volume-<id>.
func (d *Driver) DevicePath(v driver.Volume) string { return d.devPath(driver.StorageName(v.ID)) }

// Setup checks that lvm runs and the volume group exists, resolves lvm_type auto, and makes
// the thin pool <vg>-pool when thin and it is missing. Its error says what is missing.
func (d *Driver) Setup(ctx context.Context) error {
	if d.VolumeGroup == "" {
		return fmt.Errorf("%w: volume_group is empty", driver.ErrInvalidConfig)
	}
	if _, err := d.lvm(ctx, "version"); err != nil {
		return fmt.Errorf("lvm does not run: %w", err)
	}
	vg, err := d.vg(ctx)
	if err != nil {
		return err
	}
	thin := d.Type == TypeThin
	if d.Type == TypeAuto {
		if thin, err = d.supportsThin(ctx); err != nil {
			return err
		}
	}
	if thin {
		if err := d.ensurePool(ctx, vg); err != nil {
			return err
		}
	}
	d.mu.Lock()
	d.thin = thin
	d.mu.Unlock()
	return nil
}

// supportsThin reports whether this lvm2 knows the thin-pool segment type (lvm_type auto).
func (d *Driver) supportsThin(ctx context.Context) (bool, error) {
	out, err := d.lvm(ctx, "segtypes")
	if err != nil {
		return false, fmt.Errorf("lvm_type auto: %w", err)
	}
	for _, f := range strings.Fields(string(out)) {
		if f == "thin-pool" {
			return true, nil
		}
	}
	return false, nil
}

// ensurePool makes the thin pool from 95% of the group's free space when it is missing (the
// rest is room for the pool's metadata), as Cinder does.
func (d *Driver) ensurePool(ctx context.Context, vg vgReport) error {
	lvs, err := d.lvs(ctx)
	if err != nil {
		return err
	}
	if p, ok := lvs[d.poolName()]; ok {
		if !p.thinPool() {
			return fmt.Errorf("%s exists and is not a thin pool", d.path(d.poolName()))
		}
		return nil
	}
	free, _ := strconv.ParseInt(vg.Free, 10, 64)
	mib := free * 95 / 100 >> 20
	if mib <= 0 {
		return fmt.Errorf("no free space in %s for the thin pool %s", d.VolumeGroup, d.poolName())
	}
	if _, err := d.lvm(ctx, "lvcreate", "-y", "-T", "-L", fmt.Sprintf("%dm", mib), d.path(d.poolName())); err != nil {
		return fmt.Errorf("create the thin pool: %w", err)
	}
	return nil
}

func sizeArg(gib int) string { return fmt.Sprintf("%dg", gib) }

// createLV makes an empty logical volume lv of gib GiB, thin in the pool or thick.
func (d *Driver) createLV(ctx context.Context, lv string, gib int) error {
	args := []string{"-y", "-n", lv}
	if d.isThin() {
		args = append(args, "-T", "-V", sizeArg(gib), d.path(d.poolName()))
	} else {
		args = append(args, "-L", sizeArg(gib), d.VolumeGroup)
	}
	if _, err := d.lvm(ctx, "lvcreate", args...); err != nil {
		return fmt.Errorf("create %s: %w", d.path(lv), err)
	}
	return nil
}

// removeLV removes lv if it exists, clearing it first when asked.
func (d *Driver) removeLV(ctx context.Context, lv string) error {
	if _, err := d.lvm(ctx, "lvremove", "--config", "activation { retry_deactivation = 1 }", "-f", d.path(lv)); err != nil {
		return fmt.Errorf("remove %s: %w", d.path(lv), err)
	}
	return nil
}

// Create makes volume-<id> of the volume's size; one that exists already is left alone.
func (d *Driver) Create(ctx context.Context, v driver.Volume) (driver.Data, error) {
	lvs, err := d.lvs(ctx)
	if err != nil {
		return driver.Data{}, err
	}
	if _, ok := lvs[driver.StorageName(v.ID)]; ok {
		return driver.Data{}, nil
	}
	return driver.Data{}, d.createLV(ctx, driver.StorageName(v.ID), v.SizeGiB)
}

// Delete clears (volume_clear, thick volumes only: a thin volume's blocks go back to the
// pool unread) and removes volume-<id>, and any partial copy of it; a missing one is fine.
func (d *Driver) Delete(ctx context.Context, v driver.Volume) error {
	lvs, err := d.lvs(ctx)
	if err != nil {
		return err
	}
	name := driver.StorageName(v.ID)
	if _, ok := lvs[partial(name)]; ok {
		if err := d.removeLV(ctx, partial(name)); err != nil {
			return err
		}
	}
	lv, ok := lvs[name]
	if !ok {
		return nil
	}
	if !d.isThin() {
		if err := d.clear(ctx, d.devPath(name), lv.bytes()); err != nil {
			return err
		}
	}
	return d.removeLV(ctx, name)
}

// clear writes zeros over the first volume_clear_size MiB of a device of size bytes (all of
// it when 0), as Cinder's volume_clear = zero; nothing with none.
func (d *Driver) clear(ctx context.Context, dev string, size int64) error {
	if d.Clear == ClearNone {
		return nil
	}
	mib := size >> 20
	if d.ClearSizeMiB > 0 && int64(d.ClearSizeMiB) < mib {
		mib = int64(d.ClearSizeMiB)
	}
	if mib <= 0 {
		return nil
	}
	if err := d.copyData(ctx, "if=/dev/zero", "of="+dev, "bs=1M", "count="+strconv.FormatInt(mib, 10), "oflag=direct", "conv=fdatasync"); err != nil {
		return fmt.Errorf("clear %s: %w", dev, err)
	}
	return nil
}

// Exists reports whether volume-<id> exists (a copy still under its partial name does not).
func (d *Driver) Exists(ctx context.Context, v driver.Volume) (bool, error) {
	lvs, err := d.lvs(ctx)
	if err != nil {
		return false, err
	}
	_, ok := lvs[driver.StorageName(v.ID)]
	return ok, nil
}

// gib converts bytes to GiB rounded to hundredths, as Cinder reports capacities.
func gib(b int64) float64 { return math.Round(float64(b)/float64(driver.GiB)*100) / 100 }

// Stats reports one pool named after the backend, from the volume group (thick) or the thin
// pool (thin: its size, its free space from data_percent, and the provisioned sizes of the
// thin volumes in it), as Cinder's LVM driver does.
func (d *Driver) Stats(ctx context.Context) (driver.Stats, error) {
	vg, err := d.vg(ctx)
	if err != nil {
		return driver.Stats{}, err
	}
	lvs, err := d.lvs(ctx)
	if err != nil {
		return driver.Stats{}, err
	}
	thin := d.isThin()
	pool := driver.Pool{
		Name:                     d.BackendName,
		ReservedPercentage:       d.Reserved,
		MaxOverSubscriptionRatio: d.OverSub,
		ThinProvisioningSupport:  thin,
		ThickProvisioningSupport: !thin,
		Multiattach:              true,
		Extra:                    map[string]any{"volume_group": d.VolumeGroup, "lvm_type": map[bool]string{true: TypeThin, false: TypeDefault}[thin]},
	}
	var volumes int
	var allocated int64
	for _, lv := range lvs {
		if strings.HasPrefix(lv.Name, "volume-") && !strings.HasSuffix(lv.Name, ".partial") {
			volumes++
			allocated += lv.bytes()
		}
	}
	pool.Extra["total_volumes"] = volumes
	if thin {
		p, ok := lvs[d.poolName()]
		if !ok {
			return driver.Stats{}, fmt.Errorf("the thin pool %s is missing", d.path(d.poolName()))
		}
		used, _ := strconv.ParseFloat(p.DataPercent, 64)
		var provisioned int64
		for _, lv := range lvs {
			if lv.Pool == d.poolName() {
				provisioned += lv.bytes()
			}
		}
		pool.TotalCapacityGB = driver.Capacity(gib(p.bytes()))
		pool.FreeCapacityGB = driver.Capacity(gib(int64(float64(p.bytes()) * (1 - used/100))))
		pool.ProvisionedCapacityGB = gib(provisioned)
	} else {
		size, _ := strconv.ParseInt(vg.Size, 10, 64)
		free, _ := strconv.ParseInt(vg.Free, 10, 64)
		pool.TotalCapacityGB = driver.Capacity(gib(size))
		pool.FreeCapacityGB = driver.Capacity(gib(free))
		pool.ProvisionedCapacityGB = gib(size - free)
	}
	pool.AllocatedCapacityGB = gib(allocated)
	return driver.Stats{
		VolumeBackendName: d.BackendName,
		VendorName:        "Open Source",
		DriverVersion:     "3.0.0",
		StorageProtocol:   "iSCSI",
		Pools:             []driver.Pool{pool},
	}, nil
}

// errNoSource is a snapshot or source volume whose logical volume is missing: a
// driver.ErrNotFound.
var errNoSource = driver.Mark(errors.New("logical volume not found"), driver.ErrNotFound)
