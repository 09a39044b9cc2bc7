package ceph

import (
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

func TestBaseName(t *testing.T) {
	md := `{"base": "volume-v.backup.f"}`
	tests := []struct {
		name      string
		b, parent *resource.Backup
		want      string
	}{
		{"full", &resource.Backup{ID: "b", VolumeID: "v"}, nil, "volume-v.backup.b"},
		{"kept in service_metadata", &resource.Backup{ID: "b", VolumeID: "v", ServiceMetadata: md}, nil, "volume-v.backup.f"},
		{"incremental: the parent's base", &resource.Backup{ID: "b", VolumeID: "v"}, &resource.Backup{ID: "f", ServiceMetadata: md}, "volume-v.backup.f"},
		{"incremental of an old parent", &resource.Backup{ID: "b", VolumeID: "v"}, &resource.Backup{ID: "f"}, "volume-v.backup.base"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := baseName(tt.b, tt.parent); got != tt.want {
				t.Fatalf("baseName = %q, want %q", got, tt.want)
			}
		})
	}
	if got := encodeServiceMetadata("volume-v.backup.f"); got != md {
		t.Fatalf("service_metadata %q, want %q", got, md)
	}
}

func TestBackupSnaps(t *testing.T) {
	names := []string{
		"backup.b2.snap.1700000100.5", "other", "backup.b1.snap.1700000000.25",
		"backup.b3.snap.1700000200", "backup.b3.snap.1700000300", "backupX.b.snap.1",
	}
	got := backupSnaps(names)
	var order []string
	for _, s := range got {
		order = append(order, s.BackupID)
	}
	if want := []string{"b1", "b2", "b3", "b3"}; len(order) != len(want) || order[0] != "b1" || order[1] != "b2" {
		t.Fatalf("backup snapshots in order %v, want %v", order, want)
	}
	if s, err := snapOf(names, "b2"); err != nil || s != "backup.b2.snap.1700000100.5" {
		t.Fatalf("snapOf b2 = %q, %v", s, err)
	}
	if s, err := snapOf(names, "none"); err != nil || s != "" {
		t.Fatalf("snapOf none = %q, %v", s, err)
	}
	if _, err := snapOf(names, "b3"); err == nil {
		t.Fatal("two snapshots of one backup: no error")
	}
	n := newSnapName("abc-1", time.Unix(1700000000, 250000000))
	if n != "backup.abc-1.snap.1700000000.25" {
		t.Fatalf("newSnapName = %q", n)
	}
	if m := backupSnaps([]string{n}); len(m) != 1 || m[0].BackupID != "abc-1" {
		t.Fatalf("its own name does not match the pattern: %v", m)
	}
}

func TestKeyFromAndAllZero(t *testing.T) {
	kr := "[client.cinder]\n\tkey = AQCC==\n\tcaps mon = \"profile rbd\"\n"
	if got := keyFrom(kr); got != "AQCC==" {
		t.Fatalf("keyFrom = %q", got)
	}
	if got := keyFrom("AQDD=="); got != "AQDD==" {
		t.Fatalf("keyFrom of a bare key = %q", got)
	}
	p := make([]byte, 37)
	if !allZero(p) {
		t.Fatal("zeros not all zero")
	}
	p[36] = 1
	if allZero(p) {
		t.Fatal("a one in the tail missed")
	}
	p[36], p[3] = 0, 1
	if allZero(p) {
		t.Fatal("a one in the head missed")
	}
}
