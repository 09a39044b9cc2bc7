package nfs

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/nfsjudge"
)

func TestParseSubstituteExports(t *testing.T) {
	tests := []struct {
		name    string
		items   []string
		want    map[string]string
		wantErr string
	}{
		{name: "two shares", items: []string{"127.0.0.1:/export1=/tmp/scoria-nfs/export1", " 127.0.0.1:/export2 = /tmp/scoria-nfs/export2/ "},
			want: map[string]string{"127.0.0.1:/export1": "/tmp/scoria-nfs/export1", "127.0.0.1:/export2": "/tmp/scoria-nfs/export2"}},
		{name: "none", items: nil, want: map[string]string{}},
		{name: "no =", items: []string{"127.0.0.1:/export1"}, wantErr: `item 1 "127.0.0.1:/export1": want host:/export=/exported/dir`},
		{name: "not a share", items: []string{"127.0.0.1/export1=/d"}, wantErr: `share "127.0.0.1/export1" is not of the form address:/export`},
		{name: "relative directory", items: []string{"127.0.0.1:/export1=export1"}, wantErr: `exported directory "export1" is not an absolute path`},
		{name: "empty directory", items: []string{"127.0.0.1:/export1="}, wantErr: `exported directory "" is not an absolute path`},
		{name: "listed twice", items: []string{"h:/e=/a", "h:/e=/b"}, wantErr: "item 2 \"h:/e=/b\": share h:/e is already listed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSubstituteExports(tt.items)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), SubstituteOption) {
					t.Fatalf("error %v, want it to name %s and say %q", err, SubstituteOption, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestProbeCommand(t *testing.T) {
	tests := []struct {
		addr string
		want []string
	}{
		{"127.0.0.1:/export1", []string{"nfs-ls", "nfs://127.0.0.1/export1"}},
		{"nas.example:/srv/nfs/cinder", []string{"nfs-ls", "nfs://nas.example/srv/nfs/cinder"}},
		{"[::1]:/export1", []string{"nfs-ls", "nfs://[::1]/export1"}},
	}
	for _, tt := range tests {
		if got := ProbeCommand(Share{Address: tt.addr}); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// recorder is a Runner that records the commands and answers nfs-ls and mount as told; a
// probe told to hang blocks until its context ends, as nfs-ls on a silent server would.
type recorder struct {
	cmds      [][]string
	probeErr  error
	probeHang bool
	mountErr  error
}

func (r *recorder) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	r.cmds = append(r.cmds, append([]string{name}, args...))
	switch name {
	case "nfs-ls":
		if r.probeHang {
			<-ctx.Done()
			return nil, errors.New("signal: killed")
		}
		if r.probeErr != nil {
			return []byte("Failed to mount nfs share : mount_cb: RPC error: Mount failed with error MNT3ERR_ACCES(13) Permission denied(13)\n"), r.probeErr
		}
		return []byte("-rw-r--r--  1     0     0            6 volume-a\n"), nil
	case "mount":
		if r.mountErr != nil {
			return []byte("mount: permission denied\n"), r.mountErr
		}
	}
	return nil, nil
}

func table(s string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(s)), nil }
}

// TestBindMounterMount checks the exact commands of the TEST STAND-IN mount without running
// them: the RPC probe first, then mount --bind of the exported directory, or nothing more
// when the mount point is in use already.
func TestBindMounterMount(t *testing.T) {
	share := Share{Address: "127.0.0.1:/export1"}
	probe := []string{"nfs-ls", "nfs://127.0.0.1/export1"}
	exports := map[string]string{"127.0.0.1:/export1": "/srv/export1"}
	tests := []struct {
		name      string
		share     Share
		rec       recorder
		table     string
		wantCmds  func(mp string) [][]string
		wantErrIn []string
		wantDir   bool
	}{
		{name: "probe then bind", share: share, wantDir: true,
			wantCmds: func(mp string) [][]string { return [][]string{probe, {"mount", "--bind", "/srv/export1", mp}} }},
		{name: "mount point in use: reused", share: share,
			table:    "/dev/sda1 MP ext4 rw,relatime 0 0\n",
			wantCmds: func(string) [][]string { return [][]string{probe} }},
		{name: "share not in the option", share: Share{Address: "127.0.0.1:/export9"},
			wantCmds:  func(string) [][]string { return nil },
			wantErrIn: []string{"share 127.0.0.1:/export9 has no exported directory in " + SubstituteOption}},
		{name: "server refuses MOUNT: no bind", share: share, rec: recorder{probeErr: errors.New("exit status 1")},
			wantCmds:  func(string) [][]string { return [][]string{probe} },
			wantErrIn: []string{"NFS server 127.0.0.1 does not answer MOUNT for /export1: nfs-ls nfs://127.0.0.1/export1: exit status 1", "MNT3ERR_ACCES(13)"}},
		{name: "bind fails", share: share, rec: recorder{mountErr: errors.New("exit status 32")}, wantDir: true,
			wantCmds:  func(mp string) [][]string { return [][]string{probe, {"mount", "--bind", "/srv/export1", mp}} },
			wantErrIn: []string{"bind-mount /srv/export1 (exported directory of 127.0.0.1:/export1) at", "exit status 32: mount: permission denied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp := MountPoint(filepath.Join(t.TempDir(), "mnt"), tt.share)
			rec := tt.rec
			m := &BindMounter{Exports: exports, Run: rec.run, Mounts: table(strings.ReplaceAll(tt.table, "MP", mp))}
			err := m.Mount(context.Background(), tt.share, mp)
			if len(tt.wantErrIn) > 0 {
				for _, want := range tt.wantErrIn {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Fatalf("error %v, want it to contain %q", err, want)
					}
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if want := tt.wantCmds(mp); !reflect.DeepEqual(rec.cmds, want) {
				t.Fatalf("commands %q, want %q", rec.cmds, want)
			}
			if _, err := os.Stat(mp); (err == nil) != tt.wantDir {
				t.Errorf("mount point made: %v, want %v", err == nil, tt.wantDir)
			}
		})
	}
}

func TestBindMounterCheck(t *testing.T) {
	share := Share{Address: "127.0.0.1:/export1"}
	exports := map[string]string{"127.0.0.1:/export1": "/srv/export1"}
	tests := []struct {
		name      string
		share     Share
		rec       recorder
		mounted   bool
		wantErrIn string
	}{
		{name: "answers and mounted", share: share, mounted: true},
		{name: "server refuses MOUNT", share: share, mounted: true, rec: recorder{probeErr: errors.New("exit status 1")},
			wantErrIn: "NFS server 127.0.0.1 does not answer MOUNT for /export1"},
		{name: "server silent: bounded by Timeout", share: share, mounted: true, rec: recorder{probeHang: true},
			wantErrIn: "NFS server 127.0.0.1 does not answer MOUNT for /export1: nfs-ls nfs://127.0.0.1/export1: no answer: context deadline exceeded"},
		{name: "bind mount gone", share: share, wantErrIn: "127.0.0.1:/export1 is not mounted at"},
		{name: "share not in the option", share: Share{Address: "h:/x"}, mounted: true, wantErrIn: "has no exported directory in " + SubstituteOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp := t.TempDir() // a real directory: Check's statfs runs on it
			tab := ""
			if tt.mounted {
				tab = "/dev/sda1 " + mp + " ext4 rw 0 0\n"
			}
			rec := tt.rec
			m := &BindMounter{Exports: exports, Run: rec.run, Mounts: table(tab), Timeout: 50 * time.Millisecond}
			start := time.Now()
			err := m.Check(context.Background(), tt.share, mp)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Check took %v with a Timeout of 50ms", d)
			}
			if tt.wantErrIn == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErrIn) {
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErrIn)
			}
		})
	}
}

// mountsAt counts the entries of this process's mount table at mountPoint.
func mountsAt(t *testing.T, mountPoint string) int {
	t.Helper()
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 1 && fields[1] == mountPoint {
			n++
		}
	}
	return n
}

// requireBindMount skips without root or nfs-ls (fails under CI=true) and returns the test
// NFS server (nfsjudge.Require).
func requireBindMount(t *testing.T) nfsjudge.Env {
	t.Helper()
	missing := ""
	if os.Geteuid() != 0 {
		missing = "root (mount --bind)"
	} else if _, err := exec.LookPath("nfs-ls"); err != nil {
		missing = "nfs-ls (libnfs-utils)"
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s needed under CI=true", missing)
		}
		t.Skipf("needs %s", missing)
	}
	return nfsjudge.Require(t)
}

// TestBindMounterOnRealServer mounts a share of the real ganesha of deploy/nfs/nfs-up.sh
// through the TEST STAND-IN and checks with the server (nfsjudge) that a file written under
// the mount point is in the export; then that shares the server does not export, or whose
// server does not exist, fail Mount and Check with the reason.
func TestBindMounterOnRealServer(t *testing.T) {
	env := requireBindMount(t)
	exports, err := ParseSubstituteExports(env.SubstituteExports())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	share := Share{Address: env.Shares[0]}
	m := &BindMounter{Exports: exports, Timeout: 10 * time.Second}
	mp := MountPoint(t.TempDir(), share)
	if err := m.Mount(ctx, share, mp); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if mountsAt(t, mp) > 0 {
			if err := m.Unmount(context.Background(), mp); err != nil {
				t.Error(err)
			}
		}
	})
	if err := m.Mount(ctx, share, mp); err != nil {
		t.Fatalf("mount again: %v", err)
	}
	if n := mountsAt(t, mp); n != 1 {
		t.Fatalf("%d mounts at %s after two Mounts, want 1 (the second reused)", n, mp)
	}
	if err := m.Check(ctx, share, mp); err != nil {
		t.Fatalf("check: %v", err)
	}

	name := "bindmount-" + filepath.Base(mp) + "-" + time.Now().Format("150405.000000000")
	data := []byte("written under the mount point, read back from the NFS server")
	if err := os.WriteFile(filepath.Join(mp, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(filepath.Join(exports[share.Address], name)) })
	got, err := nfsjudge.Cat(ctx, nfsjudge.URL(share.Address, name))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(data) {
		t.Fatalf("the server has %q, want %q", got, data)
	}

	if err := m.Unmount(ctx, mp); err != nil {
		t.Fatal(err)
	}
	if err := m.Check(ctx, share, mp); err == nil || !strings.Contains(err.Error(), "is not mounted at "+mp) {
		t.Fatalf("check after unmount: %v, want not mounted", err)
	}

	host, _ := splitAddress(share.Address)
	bad := []struct {
		name      string
		addr      string
		timeout   time.Duration
		wantErrIn string
	}{
		{name: "export the server does not have", addr: host + ":/scoria-no-such-export", timeout: 10 * time.Second,
			wantErrIn: "NFS server " + host + " does not answer MOUNT for /scoria-no-such-export: nfs-ls nfs://" + host + "/scoria-no-such-export: exit status"},
		{name: "no server at that address", addr: "127.0.0.3:/export1", timeout: 10 * time.Second,
			wantErrIn: "NFS server 127.0.0.3 does not answer MOUNT for /export1: nfs-ls nfs://127.0.0.3/export1: exit status"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			bm := &BindMounter{Exports: map[string]string{tt.addr: exports[share.Address]}, Timeout: tt.timeout}
			s := Share{Address: tt.addr}
			mp := MountPoint(t.TempDir(), s)
			err := bm.Mount(ctx, s, mp)
			if err == nil || !strings.Contains(err.Error(), tt.wantErrIn) {
				if err == nil {
					_ = bm.Unmount(ctx, mp)
				}
				t.Fatalf("mount: %v, want %q", err, tt.wantErrIn)
			}
			if n := mountsAt(t, mp); n != 0 {
				t.Fatalf("%d mounts at %s after a refused Mount", n, mp)
			}
			if err := bm.Check(ctx, s, mp); err == nil || !strings.Contains(err.Error(), tt.wantErrIn) {
				t.Fatalf("check: %v, want %q", err, tt.wantErrIn)
			}
		})
	}
}
