package nfs

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestSystemMounter checks the exact mount commands the production mounter runs, its reuse of
// a share already mounted, and its retries: this machine's kernel has no NFS client, so the
// commands are recorded, not run.
func TestSystemMounter(t *testing.T) {
	base := t.TempDir()
	share := Share{Address: "127.0.0.1:/export1"}
	mp := filepath.Join(base, "9fcfd73eb2c62aadf3d0b0aa2f3921b7")
	tests := []struct {
		name      string
		share     Share
		options   string
		table     string
		fails     int // failing attempts before success
		attempts  int
		wantCmds  int
		wantCmd   []string
		wantErrIn string
	}{
		{name: "plain", share: share, attempts: 3, wantCmds: 1,
			wantCmd: []string{"mount", "-t", "nfs", "127.0.0.1:/export1", mp}},
		{name: "nfs_mount_options", share: share, options: "vers=3,lookupcache=pos", attempts: 3, wantCmds: 1,
			wantCmd: []string{"mount", "-t", "nfs", "-o", "vers=3,lookupcache=pos", "127.0.0.1:/export1", mp}},
		{name: "the share line's options win", share: Share{Address: "127.0.0.1:/export1", Options: "-o vers=4.1 -v"},
			options: "vers=3", attempts: 3, wantCmds: 1,
			wantCmd: []string{"mount", "-t", "nfs", "-o", "vers=4.1", "-v", "127.0.0.1:/export1", mp}},
		{name: "already mounted", share: share, attempts: 3, wantCmds: 0,
			table: "127.0.0.1:/export1 " + mp + " nfs4 rw,relatime 0 0\n"},
		{name: "mounted elsewhere is not mounted here", share: share, attempts: 3, wantCmds: 1,
			table:   "127.0.0.1:/export1 /elsewhere nfs rw 0 0\n",
			wantCmd: []string{"mount", "-t", "nfs", "127.0.0.1:/export1", mp}},
		{name: "retried until it works", share: share, attempts: 3, fails: 2, wantCmds: 3,
			wantCmd: []string{"mount", "-t", "nfs", "127.0.0.1:/export1", mp}},
		{name: "gives up after nfs_mount_attempts", share: share, attempts: 2, fails: 5, wantCmds: 2,
			wantCmd:   []string{"mount", "-t", "nfs", "127.0.0.1:/export1", mp},
			wantErrIn: "(attempt 2 of 2): exit status 32: mount.nfs: Connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cmds [][]string
			m := &SystemMounter{
				MountOptions: tt.options, Attempts: tt.attempts,
				Mounts: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(tt.table)), nil },
				Run: func(_ context.Context, name string, args ...string) ([]byte, error) {
					cmds = append(cmds, append([]string{name}, args...))
					if len(cmds) <= tt.fails {
						return []byte("mount.nfs: Connection refused\n"), errors.New("exit status 32")
					}
					return nil, nil
				},
			}
			err := m.Mount(context.Background(), tt.share, mp)
			if tt.wantErrIn != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrIn) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErrIn)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if len(cmds) != tt.wantCmds {
				t.Fatalf("%d commands, want %d: %q", len(cmds), tt.wantCmds, cmds)
			}
			for _, c := range cmds {
				if !reflect.DeepEqual(c, tt.wantCmd) {
					t.Fatalf("command %q, want %q", c, tt.wantCmd)
				}
			}
		})
	}
}

// TestSystemMounterCancelled: a cancelled context ends the retries at once.
func TestSystemMounterCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	m := &SystemMounter{Attempts: 5, Wait: 1 << 40,
		Mounts: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("")), nil },
		Run: func(context.Context, string, ...string) ([]byte, error) {
			cancel()
			return nil, errors.New("exit status 32")
		}}
	err := m.Mount(ctx, Share{Address: "h:/a"}, filepath.Join(t.TempDir(), "m"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

// TestSystemMounterCheck: a share is up when the mount table has it at its mount point and
// the mounted file system answers statfs; the answer says why not otherwise.
func TestSystemMounterCheck(t *testing.T) {
	share := Share{Address: "127.0.0.1:/export1"}
	dir := t.TempDir()
	gone := filepath.Join(dir, "gone")
	tests := []struct {
		name, table, mountPoint, wantErrIn string
	}{
		{"mounted and answering", "127.0.0.1:/export1 " + dir + " nfs4 rw 0 0\n", dir, ""},
		{"not in the mount table", "127.0.0.1:/export2 " + dir + " nfs rw 0 0\n", dir, "is not mounted at"},
		{"mounted but not answering", "127.0.0.1:/export1 " + gone + " nfs rw 0 0\n", gone, "statfs " + gone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &SystemMounter{Mounts: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(tt.table)), nil }}
			err := m.Check(context.Background(), share, tt.mountPoint)
			if (err == nil) != (tt.wantErrIn == "") || err != nil && !strings.Contains(err.Error(), tt.wantErrIn) {
				t.Errorf("Check = %v, want an error containing %q", err, tt.wantErrIn)
			}
		})
	}
}
