package cluster

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNFSVolumeSpec(t *testing.T) {
	shares := []string{"127.0.0.1:/export1", "127.0.0.1:/export2"}
	exports := []string{"127.0.0.1:/export1=/srv/e1", "127.0.0.1:/export2=/srv/e2"}
	base := map[string]string{
		"volume_driver":              "cinder.volume.drivers.nfs.NfsDriver",
		"volume_backend_name":        "nfs",
		"nfs_mount_point_base":       "$state_path/mnt",
		"nfs_snapshot_support":       "true",
		"nas_secure_file_operations": "false",
	}
	with := func(extra map[string]string) map[string]string {
		out := maps.Clone(base)
		maps.Copy(out, extra)
		return out
	}
	for _, tc := range []struct {
		name     string
		backend  NFSBackend
		wantName string
		wantOpts map[string]string // without nfs_shares_config, checked apart
		wantErr  string
	}{
		{name: "stand-in mount", backend: NFSBackend{Shares: shares, Exports: exports}, wantName: "nfs",
			wantOpts: with(map[string]string{"scoria_test_nfs_exports": strings.Join(exports, ",")})},
		{name: "production mount, own name, options win", wantName: "nas",
			backend:  NFSBackend{Name: "nas", Shares: shares[:1], Options: map[string]string{"nfs_snapshot_support": "false", "nfs_qcow2_volumes": "true"}},
			wantOpts: with(map[string]string{"volume_backend_name": "nas", "nfs_snapshot_support": "false", "nfs_qcow2_volumes": "true"})},
		{name: "no share", backend: NFSBackend{}, wantErr: "at least one share"},
		{name: "no shares file", backend: NFSBackend{Shares: shares}, wantErr: "SharesFile is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "etc", "shares")
			if tc.wantErr == "" || !strings.Contains(tc.wantErr, "SharesFile") {
				tc.backend.SharesFile = file
			}
			spec, err := NFSVolumeSpec("node1", tc.backend)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if spec.Host != "node1" || !slices.Equal(spec.Wrap, PrivateMountNamespace) || len(spec.Backends) != 1 || spec.Backends[0].Name != tc.wantName {
				t.Fatalf("spec %+v", spec)
			}
			opts := maps.Clone(spec.Backends[0].Options)
			if opts["nfs_shares_config"] != file {
				t.Errorf("nfs_shares_config = %q, want %s", opts["nfs_shares_config"], file)
			}
			delete(opts, "nfs_shares_config")
			if !maps.Equal(opts, tc.wantOpts) {
				t.Errorf("options %v, want %v", opts, tc.wantOpts)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, l := range strings.Split(string(b), "\n") {
				if l != "" && !strings.HasPrefix(l, "#") {
					lines = append(lines, l)
				}
			}
			if !slices.Equal(lines, tc.backend.Shares) {
				t.Errorf("shares file lists %q, want %q", lines, tc.backend.Shares)
			}
		})
	}
}

// TestVolumeWrap checks that a VolumeSpec's Wrap reaches its process and that start runs the
// binary under it, at the first start and at a restart.
func TestVolumeWrap(t *testing.T) {
	dir := t.TempDir()
	specs := []VolumeSpec{{Host: "plain"}, {Host: "wrapped", Wrap: []string{"sh", "-c", `echo "wrapped: $*"`, "sh"}}}
	c := &Cluster{Dir: dir, opts: Options{BinDir: "/bin", Volumes: specs, VolumeHosts: volumeHostsOf(specs)}, procs: map[string]*Process{}}
	for _, h := range c.opts.VolumeHosts {
		c.addProcess(VolumeProcess(h), "true")
		c.procs[VolumeProcess(h)].LogPath = filepath.Join(dir, h+".log")
		c.addVolumeOptions(h, map[string]string{})
	}
	if w := c.procs[VolumeProcess("plain")].Wrap; len(w) != 0 {
		t.Errorf("a spec without Wrap wraps its process in %v", w)
	}
	p := c.procs[VolumeProcess("wrapped")]
	for run := 1; run <= 2; run++ {
		if err := p.start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for p.Running() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		b, _ := os.ReadFile(p.LogPath)
		want := "wrapped: /bin/true --config-file " + p.Config
		if got := strings.Count(string(b), want); got != run {
			t.Errorf("run %d: the log has %q %d times, want %d:\n%s", run, want, got, run, b)
		}
	}
}
