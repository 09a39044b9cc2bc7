package nfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/scoria/scoria/pkg/driver"
)

// Version is reported as driver_version (Cinder's NfsDriver VERSION).
const Version = "1.4.0"

// tmpSuffix marks a file being written: a volume file is renamed into place only when
// complete, so a file named volume-<id> never holds half a copy.
const tmpSuffix = ".partial"

// indicatorFile is Cinder's marker of a secure NAS environment on the first share.
const indicatorFile = ".cinderSecureEnvIndicator"

// Driver keeps each volume as a file volume-<id> on one of its NFS shares, mounted under
// Base. Each share is a pool named by its address ("host:/export"); the share a volume is on
// is its driver data's Location (Cinder's provider_location).
type Driver struct {
	BackendName string
	Shares      []Share
	Base        string  // nfs_mount_point_base, absolute
	Mounter     Mounter // the system's NFS client, or a test stand-in
	Run         Runner  // runs qemu-img; nil: the command itself

	Sparse          bool // nfs_sparsed_volumes
	QCOW2           bool // nfs_qcow2_volumes
	SnapshotSupport bool // nfs_snapshot_support
	// SecureOperations and SecurePermissions are nas_secure_file_operations and
	// nas_secure_file_permissions as configured: auto, true or false. Setup settles auto.
	SecureOperations  string
	SecurePermissions string
	Reserved          int    // reserved_percentage
	OverSub           string // max_over_subscription_ratio: a number or "auto"
	// CheckTimeout bounds how long a share may take to answer a check; 0 is 10 s.
	CheckTimeout time.Duration
	// RemountInterval is how long a share found down is taken as down before it is mounted
	// again, so that calls do not each wait for a dead server; 0 is 5 s.
	RemountInterval time.Duration

	mu    sync.Mutex
	up    map[string]bool      // share address → mounted and answering at the last check
	down  map[string]error     // share address → why it is down
	tried map[string]time.Time // share address → when it was last mounted (or tried)
	perm  os.FileMode          // volume files' mode, once the security options are settled
	locks sync.Map             // volume id → *sync.Mutex (Cinder's nfs-<volume id> lock)
}

var (
	_ driver.Driver   = (*Driver)(nil)
	_ driver.Attacher = (*Driver)(nil)
	_ driver.Extender = (*Driver)(nil)
	_ driver.Cloner   = (*Driver)(nil)
)

// lock takes the lock of volume id and returns its release.
func (d *Driver) lock(id string) func() {
	m, _ := d.locks.LoadOrStore(id, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

func (d *Driver) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	if d.Run != nil {
		return d.Run(ctx, name, args...)
	}
	return execRunner(ctx, name, args...)
}

// share returns the configured share of address, false when none is.
func (d *Driver) share(address string) (Share, bool) {
	for _, s := range d.Shares {
		if s.Address == address {
			return s, true
		}
	}
	return Share{}, false
}

func (d *Driver) mountPoint(s Share) string { return MountPoint(d.Base, s) }

// volumePath is the file name of volume v (its base file) on share s.
func (d *Driver) volumePath(s Share, v driver.Volume) string {
	return filepath.Join(d.mountPoint(s), driver.StorageName(v.ID))
}

func (d *Driver) checkTimeout() time.Duration {
	if d.CheckTimeout > 0 {
		return d.CheckTimeout
	}
	return 10 * time.Second
}

// Setup checks qemu-img (and, for the system's NFS client, mount.nfs) is installed, mounts
// every share, and settles the NAS security options as Cinder does. A share that cannot be
// mounted does not stop the service: its pool is reported down with the reason and mounted
// again on the next report.
func (d *Driver) Setup(ctx context.Context) error {
	if _, err := exec.LookPath("qemu-img"); err != nil && d.Run == nil {
		return fmt.Errorf("qemu-img is not installed (Debian: qemu-utils): %w", err)
	}
	if c, ok := d.Mounter.(interface{ Installed() error }); ok {
		if err := c.Installed(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(d.Base, 0o750); err != nil {
		return fmt.Errorf("nfs_mount_point_base %s: %w", d.Base, err)
	}
	for _, s := range d.Shares {
		if err := d.ensureMounted(ctx, s); err != nil && ctx.Err() != nil {
			return err
		}
	}
	return nil
}

// ensureMounted mounts s unless it is up, records the outcome, and settles the security
// options on the first share that mounts.
func (d *Driver) ensureMounted(ctx context.Context, s Share) error {
	if d.isUp(s) {
		return nil
	}
	if err := d.recentFailure(s); err != nil {
		return err
	}
	d.mu.Lock()
	if d.tried == nil {
		d.tried = map[string]time.Time{}
	}
	d.tried[s.Address] = time.Now()
	d.mu.Unlock()
	mctx, cancel := context.WithTimeout(ctx, 3*d.checkTimeout())
	defer cancel()
	mp := d.mountPoint(s)
	if err := d.Mounter.Mount(mctx, s, mp); err != nil {
		err = fmt.Errorf("share %s cannot be mounted: %w", s.Address, err)
		d.setDown(s, err)
		return err
	}
	if err := d.settleSecurity(mp); err != nil {
		d.setDown(s, err)
		return err
	}
	d.setDown(s, nil)
	return nil
}

// defaultRemountInterval is RemountInterval's default.
const defaultRemountInterval = 5 * time.Second

// recentFailure returns why s is down when a mount of it was tried less than RemountInterval
// ago.
func (d *Driver) recentFailure(s Share) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	interval := d.RemountInterval
	if interval == 0 {
		interval = defaultRemountInterval
	}
	if err := d.down[s.Address]; err != nil && time.Since(d.tried[s.Address]) < interval {
		return err
	}
	return nil
}

func (d *Driver) setDown(s Share, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.up == nil {
		d.up, d.down = map[string]bool{}, map[string]error{}
	}
	d.up[s.Address] = err == nil
	if err == nil {
		delete(d.down, s.Address)
	} else {
		d.down[s.Address] = err
	}
}

// isUp reports whether share s is mounted and was answering at the last check.
func (d *Driver) isUp(s Share) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.up[s.Address]
}

// settleSecurity decides nas_secure_file_permissions and nas_secure_file_operations once, on
// the first share mounted, as Cinder's _determine_nas_security_option_setting: "auto" is
// true when the share holds Cinder's indicator file, or holds no volume yet (a new
// installation: the indicator file is written then), else false. Operations are settled
// the same way but for snapshots, which Cinder does not allow with secure operations: with
// nfs_snapshot_support on, auto settles to false (an explicit true was refused at start).
func (d *Driver) settleSecurity(mountPoint string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.perm != 0 {
		return nil
	}
	decide := func(option string) (string, error) {
		if option != SecureAuto && option != "" {
			return option, nil
		}
		path := filepath.Join(mountPoint, indicatorFile)
		if _, err := os.Stat(path); err == nil {
			return SecureTrue, nil
		}
		fresh, err := holdsNoVolume(mountPoint)
		if err != nil {
			return "", err
		}
		if !fresh {
			return SecureFalse, nil
		}
		text := "Detector file for Cinder secure environment usage.\nDo not delete this file.\n"
		if err := os.WriteFile(path, []byte(text), 0o640); err != nil {
			if errors.Is(err, fs.ErrPermission) {
				return SecureFalse, nil // Cinder reverts to non-secure mode then
			}
			return "", fmt.Errorf("write %s: %w", path, err)
		}
		return SecureTrue, nil
	}
	perms, err := decide(d.SecurePermissions)
	if err != nil {
		return err
	}
	ops := d.SecureOperations
	if ops == SecureAuto || ops == "" {
		if d.SnapshotSupport {
			ops = SecureFalse
		} else if ops, err = decide(ops); err != nil {
			return err
		}
	}
	d.SecurePermissions, d.SecureOperations = perms, ops
	d.perm = 0o666
	if perms == SecureTrue {
		d.perm = 0o660
	}
	return nil
}

// holdsNoVolume reports whether dir has no volume file.
func holdsNoVolume(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", dir, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "volume-") {
			return false, nil
		}
	}
	return true, nil
}

// fileMode is the mode of new volume files.
func (d *Driver) fileMode() os.FileMode {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.perm == 0 {
		return 0o660
	}
	return d.perm
}

// locate finds the share that holds volume v: its driver data's share when it has one, else
// the share whose directory has its file. A share that is down when v could be on it makes
// the answer unknown: an error (ErrUnavailable), never "not found".
func (d *Driver) locate(ctx context.Context, v driver.Volume) (Share, bool, error) {
	if v.Data.Location != "" {
		s, ok := d.share(v.Data.Location)
		if !ok {
			s = Share{Address: v.Data.Location} // a share since removed from the list
		}
		if err := d.ensureMounted(ctx, s); err != nil {
			return Share{}, false, driver.Mark(err, driver.ErrUnavailable)
		}
		_, err := os.Stat(d.volumePath(s, v))
		switch {
		case err == nil:
			return s, true, nil
		case errors.Is(err, fs.ErrNotExist):
			return s, false, nil
		default:
			return Share{}, false, fmt.Errorf("volume %s on %s: %w", v.ID, s.Address, err)
		}
	}
	var unknown error
	for _, s := range d.Shares {
		if err := d.ensureMounted(ctx, s); err != nil {
			unknown = err
			continue
		}
		if _, err := os.Stat(d.volumePath(s, v)); err == nil {
			return s, true, nil
		}
	}
	if unknown != nil {
		return Share{}, false, driver.Mark(fmt.Errorf("volume %s may be on a share that is down: %w", v.ID, unknown), driver.ErrUnavailable)
	}
	return Share{}, false, nil
}

// Create makes volume v's file on the share of its pool (or, without one, the share Cinder's
// _find_share picks) — sparse raw, regular raw full of zeros, or qcow2 as configured —
// under a temporary name renamed into place when complete.
func (d *Driver) Create(ctx context.Context, v driver.Volume) (driver.Data, error) {
	defer d.lock(v.ID)()
	if s, found, err := d.locate(ctx, v); err == nil && found {
		return driver.Data{Location: s.Address}, nil // a redelivered create: done already
	}
	s, err := d.placement(ctx, v)
	if err != nil {
		return driver.Data{}, err
	}
	path := d.volumePath(s, v)
	tmp := path + tmpSuffix
	if err := d.createFile(ctx, tmp, v.SizeGiB); err != nil {
		os.Remove(tmp)
		return driver.Data{}, fmt.Errorf("create volume %s on %s: %w", v.ID, s.Address, err)
	}
	if err := d.finish(tmp, path); err != nil {
		return driver.Data{}, fmt.Errorf("create volume %s on %s: %w", v.ID, s.Address, err)
	}
	return driver.Data{Location: s.Address}, nil
}

// placement is the share a new volume v goes to: its pool's when the scheduler chose one of
// the shares, else the one Cinder's _find_share would pick.
func (d *Driver) placement(ctx context.Context, v driver.Volume) (Share, error) {
	if s, ok := d.share(v.Pool); ok {
		if err := d.ensureMounted(ctx, s); err != nil {
			return Share{}, driver.Mark(err, driver.ErrUnavailable)
		}
		return s, nil
	}
	return d.findShare(ctx, v.SizeGiB)
}

// createFile makes path a volume file of sizeGiB in the configured format.
func (d *Driver) createFile(ctx context.Context, path string, sizeGiB int) error {
	if d.QCOW2 {
		return d.createQCOW2(ctx, path, sizeGiB)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, d.fileMode())
	if err != nil {
		return noSpace(err)
	}
	size := int64(sizeGiB) * driver.GiB
	if d.Sparse {
		err = f.Truncate(size)
	} else {
		err = writeZeros(ctx, f, 0, size)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return noSpace(err)
}

// writeZeros writes zeros over [from, to) of f, as Cinder's dd of /dev/zero, stopping when
// ctx ends.
func writeZeros(ctx context.Context, f *os.File, from, to int64) error {
	buf := make([]byte, 1<<20)
	for off := from; off < to; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(int64(len(buf)), to-off)
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// finish gives tmp its mode and renames it to path, flushing the directory.
func (d *Driver) finish(tmp, path string) error {
	if err := os.Chmod(tmp, d.fileMode()); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return nil
}

// Delete removes every file of volume v on its share: the volume file, its snapshot overlays,
// its .info file and any partial copy. A volume without a file is fine.
func (d *Driver) Delete(ctx context.Context, v driver.Volume) error {
	defer d.lock(v.ID)()
	s, found, err := d.locate(ctx, v)
	if err != nil || !found {
		return err
	}
	return d.removeVolumeFiles(s, v.ID)
}

// removeVolumeFiles removes volume-<id> and volume-<id>.* from share s.
func (d *Driver) removeVolumeFiles(s Share, id string) error {
	dir := d.mountPoint(s)
	name := driver.StorageName(id)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.Name() == name || strings.HasPrefix(e.Name(), name+".") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove %s: %w", e.Name(), err)
			}
		}
	}
	return nil
}

// Exists reports whether volume v's file exists on its share.
func (d *Driver) Exists(ctx context.Context, v driver.Volume) (bool, error) {
	_, found, err := d.locate(ctx, v)
	return found, err
}

// findShare is Cinder's _find_share: among the mounted shares eligible for sizeGiB more, the
// one with the least allocated.
func (d *Driver) findShare(ctx context.Context, sizeGiB int) (Share, error) {
	var best Share
	var bestAllocated uint64
	found, mounted := false, false
	for _, s := range d.Shares {
		if err := d.ensureMounted(ctx, s); err != nil {
			continue
		}
		mounted = true
		c, err := MeasureCapacity(d.mountPoint(s))
		if err != nil || !d.eligible(c, sizeGiB) {
			continue
		}
		if !found || c.Allocated < bestAllocated {
			best, bestAllocated, found = s, c.Allocated, true
		}
	}
	if !mounted {
		return Share{}, driver.Mark(errors.New("no NFS share is mounted (NfsNoSharesMounted)"), driver.ErrUnavailable)
	}
	if !found {
		return Share{}, driver.Mark(fmt.Errorf("there is no share which can host %dG (NfsNoSuitableShareFound)", sizeGiB), driver.ErrNoSpace)
	}
	return best, nil
}

// eligible is Cinder's _is_share_eligible: the share's real use is within 100 -
// reserved_percentage percent, its apparent space (size × the over-subscription ratio) less
// what is allocated exceeds the request, and what is allocated is under the ratio.
func (d *Driver) eligible(c Capacity, sizeGiB int) bool {
	if c.Total == 0 {
		return false
	}
	total, avail, alloc := float64(c.Total), float64(c.Available), float64(c.Allocated)
	ratio := d.overSubscription(c)
	usedRatio := float64(100-d.Reserved) / 100
	requested := float64(sizeGiB) * float64(driver.GiB)
	apparentAvailable := math.Max(0, total*ratio-alloc)
	switch {
	case (total-avail)/total > usedRatio:
		return false
	case apparentAvailable <= requested:
		return false
	case alloc/total >= ratio:
		return false
	}
	return true
}

// overSubscription is the max_over_subscription_ratio in force on a share of capacity c: 1 for
// thick (regular) files, "auto" as the scheduler computes it (1 + provisioned / (used + 1 GiB),
// 20 while nothing is provisioned), else the number.
func (d *Driver) overSubscription(c Capacity) float64 {
	if !d.Sparse && !d.QCOW2 {
		return 1
	}
	r := strings.TrimSpace(d.OverSub)
	if strings.EqualFold(r, "auto") {
		if c.Allocated == 0 {
			return 20
		}
		gib := float64(driver.GiB)
		return 1 + (float64(c.Allocated)/gib)/((float64(c.Total)-float64(c.Available))/gib+1)
	}
	if f, err := strconv.ParseFloat(r, 64); err == nil && f >= 1 {
		return f
	}
	return 20
}

// Stats reports each share as a pool named by its address. A share that does not answer
// (not mounted, the server gone) is a pool with unknown capacity and backend_state "down"
// with the reason in backend_state_reason; it is mounted again and reported up by itself once
// it answers.
func (d *Driver) Stats(ctx context.Context) (driver.Stats, error) {
	pools := make([]driver.Pool, 0, len(d.Shares))
	for _, s := range d.Shares {
		pools = append(pools, d.sharePool(ctx, s))
	}
	return driver.Stats{
		VolumeBackendName: d.BackendName,
		VendorName:        "Open Source",
		DriverVersion:     Version,
		StorageProtocol:   "nfs",
		Extra:             map[string]any{"sparse_copy_volume": true},
		Pools:             pools,
	}, nil
}

// sharePool is the capacity report of share s.
func (d *Driver) sharePool(ctx context.Context, s Share) driver.Pool {
	ratio := d.OverSub
	if ratio == "" {
		ratio = "20.0"
	}
	p := driver.Pool{
		Name:                     s.Address,
		TotalCapacityGB:          driver.Unknown,
		FreeCapacityGB:           driver.Unknown,
		ReservedPercentage:       d.Reserved,
		MaxOverSubscriptionRatio: ratio,
		ThinProvisioningSupport:  d.Sparse,
		ThickProvisioningSupport: !d.Sparse,
		Extra:                    map[string]any{"backend_state": "up", "nfs_share": s.Address},
	}
	down := func(err error) driver.Pool {
		d.setDown(s, err)
		p.Extra["backend_state"] = "down"
		p.Extra["backend_state_reason"] = err.Error()
		return p
	}
	if err := d.ensureMounted(ctx, s); err != nil {
		return down(err)
	}
	cctx, cancel := context.WithTimeout(ctx, d.checkTimeout())
	defer cancel()
	mp := d.mountPoint(s)
	if err := d.Mounter.Check(cctx, s, mp); err != nil {
		return down(fmt.Errorf("share %s does not answer: %w", s.Address, err))
	}
	c, err := MeasureCapacity(mp)
	if err != nil {
		return down(fmt.Errorf("share %s: %w", s.Address, err))
	}
	gib := float64(driver.GiB)
	p.TotalCapacityGB = driver.Capacity(round2(float64(c.Total) / gib))
	p.FreeCapacityGB = driver.Capacity(round2(float64(c.Available) / gib))
	p.ProvisionedCapacityGB = round2(float64(c.Allocated) / gib)
	p.AllocatedCapacityGB = p.ProvisionedCapacityGB
	return p
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// noSpace marks a full share (ENOSPC, or EDQUOT of a quota) as driver.ErrNoSpace.
func noSpace(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return driver.Mark(err, driver.ErrNoSpace)
	}
	return err
}
