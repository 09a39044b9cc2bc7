package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/scoria/scoria/internal/nfsjudge"
	"github.com/scoria/scoria/test/blockstorage"
	"github.com/scoria/scoria/test/cluster"
)

// nfsSection is the backend section of a -backend nfs run, as enabled_backends names it.
const nfsSection = "nfs"

// nfsBackend is a -backend nfs run: every volume process serves one [nfs] section
// (volume_driver = nfs) on the machine's test NFS server (deploy/nfs/nfs-up.sh), its shares
// listed in an nfs_shares_config file of the run. There is no kernel NFS client on the
// machines this runs on, so the driver reaches the shares through scoria_test_nfs_exports
// (BindMounter, the TEST STAND-IN for `mount -t nfs`: the real server must answer MOUNT for
// each share, then its exported directory is bind-mounted); each volume process runs under
// `unshare -m --propagation private` so its bind mounts die with it.
type nfsBackend struct {
	env    nfsjudge.Env
	dir    string // the run's directory: shares file, mount point base, wrapped binaries
	shares string // nfs_shares_config
	mounts string // nfs_mount_point_base
}

// newNFSBackend checks that the test NFS server answers MOUNT for every share and makes the
// run's directory.
func newNFSBackend(ctx context.Context) (*nfsBackend, error) {
	env, err := nfsjudge.LoadEnv()
	if err != nil {
		return nil, fmt.Errorf("-backend nfs needs the test NFS server (bash deploy/nfs/nfs-up.sh): %w", err)
	}
	for _, s := range env.Shares {
		host, export := nfsjudge.Split(s)
		mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := nfsjudge.Mount(mctx, host, export)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("-backend nfs: the NFS server does not answer MOUNT of %s (bash deploy/nfs/nfs-up.sh starts it): %w", s, err)
		}
	}
	dir, err := os.MkdirTemp("", "scoria-load-nfs-")
	if err != nil {
		return nil, fmt.Errorf("-backend nfs: %w", err)
	}
	b := &nfsBackend{env: env, dir: dir, shares: filepath.Join(dir, "nfs_shares"), mounts: filepath.Join(dir, "mnt")}
	if err := os.WriteFile(b.shares, []byte(strings.Join(env.Shares, "\n")+"\n"), 0o644); err != nil {
		b.close()
		return nil, fmt.Errorf("-backend nfs: write the shares file: %w", err)
	}
	if err := os.Mkdir(b.mounts, 0o755); err != nil {
		b.close()
		return nil, fmt.Errorf("-backend nfs: %w", err)
	}
	return b, nil
}

// volumes is one volume process per host serving the [nfs] section.
func (b *nfsBackend) volumes(hosts []string) []cluster.VolumeSpec {
	specs := make([]cluster.VolumeSpec, len(hosts))
	for i, h := range hosts {
		// In a mount namespace of its own: the stand-in's bind mounts die with the process.
		specs[i] = cluster.VolumeSpec{Host: h, Wrap: cluster.PrivateMountNamespace, Backends: []cluster.BackendSpec{{Name: nfsSection, Options: map[string]string{
			"volume_driver":              "nfs",
			"nfs_shares_config":          b.shares,
			"nfs_mount_point_base":       filepath.Join(b.mounts, h),
			"nfs_snapshot_support":       "true",
			"nas_secure_file_operations": "false",
			"scoria_test_nfs_exports":    strings.Join(b.env.SubstituteExports(), ","),
		}}}}
	}
	return specs
}

// leftMounts lists the mounts of this (the bench's) mount namespace under the run's mount
// point base: there must be none, the volume processes mounted in namespaces of their own.
func (b *nfsBackend) leftMounts() []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return []string{fmt.Sprintf("(read /proc/self/mountinfo: %v)", err)}
	}
	var left []string
	for _, line := range strings.Split(string(data), "\n") {
		// "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw": field 5 is the mount point.
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], b.mounts) {
			left = append(left, f[4])
		}
	}
	return left
}

// describe is the backend as the result's heading names it.
func (b *nfsBackend) describe() string {
	return fmt.Sprintf("nfs on %s, snapshots on, shares reached through the TEST STAND-IN bind mount", strings.Join(b.env.Shares, " and "))
}

// close removes the run's directory (the mount points are empty: their mounts died with the
// volume processes' namespaces).
func (b *nfsBackend) close() {
	if left := b.leftMounts(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "not removing %s: still mounted here: %s\n", b.dir, strings.Join(left, ", "))
		return
	}
	_ = os.RemoveAll(b.dir)
}

// placement is what check saw of the volumes after the create phase.
type placement struct {
	perShare map[string]int // available volumes per share, by their pool
	err      error          // the first volume that is not where an NFS volume must be
}

// check lists the available volumes of the run and asks the NFS side of each: its host must
// name one of the shares as pool (node1@nfs#127.0.0.1:/export1) and the share's exported
// directory must hold its file volume-<id>. It proves the run measured the NFS driver.
func (b *nfsBackend) check(ctx context.Context, cl *blockstorage.Client) placement {
	p := placement{perShare: map[string]int{}}
	vols, err := cl.ListVolumes(ctx, url.Values{"status": {"available"}})
	if err != nil {
		p.err = fmt.Errorf("list the volumes to check their shares: %w", err)
		return p
	}
	dirs := map[string]string{}
	for i, s := range b.env.Shares {
		dirs[s] = b.env.Dirs[i]
	}
	for _, v := range vols {
		_, pool, _ := strings.Cut(v.Host, "#")
		dir, ok := dirs[pool]
		if !ok {
			p.err = fmt.Errorf("volume %s is on %q, not on a pool of the shares %s", v.ID, v.Host, strings.Join(b.env.Shares, ", "))
			return p
		}
		if _, err := os.Stat(filepath.Join(dir, "volume-"+v.ID)); err != nil {
			p.err = fmt.Errorf("volume %s on %s: its file is not in the exported directory: %w", v.ID, v.Host, err)
			return p
		}
		p.perShare[pool]++
	}
	if len(vols) == 0 {
		p.err = fmt.Errorf("no available volume to check")
	}
	return p
}
