package nfs

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// recorder answers commands as told and records them.
type recorder struct {
	mu   sync.Mutex
	cmds [][]string
	fail error
}

func (r *recorder) run(_ context.Context, name string, args ...string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmds = append(r.cmds, append([]string{name}, args...))
	if r.fail != nil {
		return []byte("mount.nfs: access denied by server"), r.fail
	}
	return nil, nil
}

// md5Dir is os-brick's mount point of share under base.
func md5Dir(base, share string) string {
	sum := md5.Sum([]byte(share))
	return filepath.Join(base, hex.EncodeToString(sum[:]))
}

func TestShareMounterCommands(t *testing.T) {
	base := t.TempDir()
	tests := []struct {
		name     string
		opts     MounterOptions
		share    string
		options  string
		want     [][]string
		wantErr  string
		fail     error
		exported string
	}{
		{name: "kernel client, backup_mount_options", opts: MounterOptions{MountOptions: "vers=3,nolock"}, share: "srv:/backups",
			want: [][]string{{"mount", "-t", "nfs", "-o", "vers=3,nolock", "srv:/backups", md5Dir(base, "srv:/backups")}}},
		{name: "kernel client, the share's own options win", opts: MounterOptions{MountOptions: "vers=3"}, share: "srv:/vol", options: "-o vers=4.1",
			want: [][]string{{"mount", "-t", "nfs", "-o", "vers=4.1", "srv:/vol", md5Dir(base, "srv:/vol")}}},
		{name: "kernel client fails", opts: MounterOptions{Attempts: 1}, share: "srv:/backups", fail: errors.New("exit status 32"),
			wantErr: "access denied by server"},
		{name: "not a share", share: "srv-backups", wantErr: "not of the form host:/path"},
		{name: "test stand-in", opts: MounterOptions{TestExports: []string{"127.0.0.1:/export1=/srv/export1"}}, share: "127.0.0.1:/export1",
			want: [][]string{{"nfs-ls", "nfs://127.0.0.1/export1"}, {"mount", "--bind", "/srv/export1", md5Dir(base, "127.0.0.1:/export1")}}},
		{name: "test stand-in, share not listed", opts: MounterOptions{TestExports: []string{"127.0.0.1:/export1=/srv/export1"}}, share: "127.0.0.1:/other",
			wantErr: "has no exported directory in scoria_test_nfs_exports"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{fail: tc.fail}
			tc.opts.Base = base
			m, err := newShareMounter(tc.opts, rec.run)
			if err != nil {
				t.Fatal(err)
			}
			dir, err := m.MountShare(context.Background(), tc.share, tc.options)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("MountShare = %q, %v; want an error with %q", dir, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if dir != md5Dir(base, tc.share) {
				t.Errorf("mount point %s, want %s", dir, md5Dir(base, tc.share))
			}
			if !slices.EqualFunc(rec.cmds, tc.want, slices.Equal) {
				t.Errorf("commands %q, want %q", rec.cmds, tc.want)
			}
		})
	}
}

func TestShareMounterOptions(t *testing.T) {
	tests := []struct {
		name string
		opts MounterOptions
		want string
	}{
		{"no base", MounterOptions{}, "backup_mount_point_base is not set"},
		{"bad test export", MounterOptions{Base: "/x", TestExports: []string{"127.0.0.1:/e"}}, "want host:/export=/exported/dir"},
		{"relative exported dir", MounterOptions{Base: "/x", TestExports: []string{"127.0.0.1:/e=rel"}}, "not an absolute path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewShareMounter(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewShareMounter = %v, want %q", err, tc.want)
			}
		})
	}
}
