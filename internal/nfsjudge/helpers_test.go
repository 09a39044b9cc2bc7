package nfsjudge

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url     string
		want    Location
		wantErr string
	}{
		{url: "nfs://127.0.0.1/export1/volume-a", want: Location{Host: "127.0.0.1", Export: "/export1", Path: "volume-a"}},
		{url: "nfs://127.0.0.1/export1/dir/volume-a", want: Location{Host: "127.0.0.1", Export: "/export1", Path: "dir/volume-a"}},
		{url: "nfs://nas:2049/export1", want: Location{Host: "nas", Export: "/export1"}},
		{url: "nfs://127.0.0.1/", wantErr: "names no export"},
		{url: "http://127.0.0.1/export1/a", wantErr: "want nfs://"},
		{url: "/export1/a", wantErr: "want nfs://"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := ParseURL(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParseQemuIODump(t *testing.T) {
	// Real qemu-io 7.2 output shapes: full lines of 16, a short last line whose ASCII column
	// ("ab cd") looks like hex bytes, and the summary lines.
	dump := "00001000:  68 65 6c 6c 6f 0a 41 42 43 44 45 46 47 48 49 4a  hello.ABCDEFGHIJ\n" +
		"00001010:  61 62 20 63 64  ab.cd\n" +
		"read 21/21 bytes at offset 4096\n" +
		"21 bytes, 1 ops; 00.00 sec (169.807 KiB/sec and 8694.1401 ops/sec)\n"
	tests := []struct {
		name    string
		dump    string
		off, n  int64
		want    []byte
		wantErr string
	}{
		{name: "two lines", dump: dump, off: 4096, n: 21, want: []byte("hello\nABCDEFGHIJab cd")},
		{name: "wrong offset", dump: dump, off: 0, n: 21, wantErr: "want 0x0"},
		{name: "no dump", dump: "read failed: Input/output error\n", off: 0, n: 4, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseQemuIODump([]byte(tt.dump), tt.off, tt.n)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestLoadEnv(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "env"), []byte("SCORIA_TEST_NFS_SHARES=127.0.0.1:/export1,127.0.0.1:/export2\nSCORIA_TEST_NFS_EXPORTS=/d/export1,/d/export2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		nfsDir         string
		shares, dirs   string
		want           Env
		wantSubstitute []string
		wantErr        string
	}{
		{name: "from the env file", nfsDir: dir,
			want:           Env{Shares: []string{"127.0.0.1:/export1", "127.0.0.1:/export2"}, Dirs: []string{"/d/export1", "/d/export2"}},
			wantSubstitute: []string{"127.0.0.1:/export1=/d/export1", "127.0.0.1:/export2=/d/export2"}},
		{name: "the variables win", nfsDir: dir, shares: "h:/e", dirs: "/x",
			want: Env{Shares: []string{"h:/e"}, Dirs: []string{"/x"}}, wantSubstitute: []string{"h:/e=/x"}},
		{name: "no server", nfsDir: filepath.Join(dir, "none"), wantErr: "no test NFS server"},
		{name: "counts differ", nfsDir: dir, shares: "h:/e,h:/f", dirs: "/x", wantErr: "2 shares but"},
		{name: "not a share", nfsDir: dir, shares: "h/e", dirs: "/x", wantErr: "is not host:/export"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NFS_DIR", tt.nfsDir)
			t.Setenv("SCORIA_TEST_NFS_SHARES", tt.shares)
			t.Setenv("SCORIA_TEST_NFS_EXPORTS", tt.dirs)
			got, err := LoadEnv()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
			if s := got.SubstituteExports(); !reflect.DeepEqual(s, tt.wantSubstitute) {
				t.Errorf("SubstituteExports %q, want %q", s, tt.wantSubstitute)
			}
		})
	}
}

func TestURL(t *testing.T) {
	if got := URL("127.0.0.1:/export1", "volume-a"); got != "nfs://127.0.0.1/export1/volume-a" {
		t.Errorf("got %q", got)
	}
	if h, e := Split("127.0.0.1:/export2"); h != "127.0.0.1" || e != "/export2" {
		t.Errorf("Split: %q %q", h, e)
	}
}
