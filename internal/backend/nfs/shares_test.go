package nfs

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseShares(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		want    []Share
		wantErr string
	}{
		{name: "one share", file: "10.0.0.5:/srv/nfs\n",
			want: []Share{{Address: "10.0.0.5:/srv/nfs"}}},
		{name: "options, comments, blank lines",
			file: "# shares\n\n  127.0.0.1:/export1 -o vers=3,rw  \n#127.0.0.1:/old\nnas.example:/vol/b -o nfsvers=4.1\n",
			want: []Share{{Address: "127.0.0.1:/export1", Options: "-o vers=3,rw"},
				{Address: "nas.example:/vol/b", Options: "-o nfsvers=4.1"}}},
		{name: `\040 is a space`, file: `host:/with\040space -o ro`,
			want: []Share{{Address: "host:/with space", Options: "-o ro"}}},
		{name: "not address:/export", file: "127.0.0.1:/a\njust-a-path\n", wantErr: `line 2: share "just-a-path" is not of the form address:/export`},
		{name: "no export path", file: "host:/\n", wantErr: `line 1: share "host:/" is not of the form address:/export`},
		{name: "listed twice", file: "h:/a\nh:/b\nh:/a -o ro\n", wantErr: "line 3: share h:/a is already listed on line 1"},
		{name: "empty", file: "# nothing\n\n", wantErr: "no shares listed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseShares(strings.NewReader(tt.file))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNASShare(t *testing.T) {
	tests := []struct {
		host, path string
		want       string
		ok         bool
	}{
		{"10.0.0.5", "/srv/nfs", "10.0.0.5:/srv/nfs", true},
		{" nas ", " /vol ", "nas:/vol", true},
		{"", "/srv", "", false},
		{"nas", "", "", false},
		{"nas", "srv", "", false},
	}
	for _, tt := range tests {
		s, err := NASShare(tt.host, tt.path)
		if (err == nil) != tt.ok || s.Address != tt.want {
			t.Errorf("NASShare(%q, %q) = %+v, %v; want %q, ok %v", tt.host, tt.path, s, err, tt.want, tt.ok)
		}
	}
}

// TestMountPoint: the mount point is base/md5(address), os-brick's name; the digest below was
// computed with Python's hashlib, as os-brick computes it.
func TestMountPoint(t *testing.T) {
	want := "/var/lib/cinder/mnt/9fcfd73eb2c62aadf3d0b0aa2f3921b7"
	if got := MountPoint("/var/lib/cinder/mnt", Share{Address: "127.0.0.1:/export1", Options: "-o ro"}); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if a, b := MountPoint("/m", Share{Address: "h:/a"}), MountPoint("/m", Share{Address: "h:/b"}); a == b {
		t.Fatalf("two shares, one mount point %s", a)
	}
}
