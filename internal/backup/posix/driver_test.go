package posix

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/backup/chunked"
	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/internal/resource"
)

// fileDevice is a volumeio.Device on a plain file, as volumeio answers for a "local"
// connection.
type fileDevice struct {
	*os.File
	size int64
}

func (f *fileDevice) Size() int64 { return f.size }

// volume is a test volume: a file of size bytes and what it should hold.
type volume struct {
	path string
	data []byte
}

func newVolume(t *testing.T, size int) *volume {
	t.Helper()
	v := &volume{path: filepath.Join(t.TempDir(), "volume"), data: make([]byte, size)}
	if err := os.WriteFile(v.path, v.data, 0o600); err != nil {
		t.Fatal(err)
	}
	return v
}

// write puts random bytes at off, in the file and in v.data.
func (v *volume) write(t *testing.T, rng *rand.Rand, off, n int) {
	t.Helper()
	for i := off; i < off+n; i++ {
		v.data[i] = byte(rng.UintN(256))
	}
	if err := os.WriteFile(v.path, v.data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (v *volume) snapshot() []byte { return bytes.Clone(v.data) }

func openDevice(t *testing.T, path string) *fileDevice {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return &fileDevice{File: f, size: fi.Size()}
}

// smallChunks keeps tests fast: 4 KiB blocks, 64 KiB objects.
func smallChunks(algorithm string) chunked.Options {
	return chunked.Options{FileSize: 16 * 4096, SHABlockSize: 4096, CompressionAlgorithm: algorithm}
}

func newDriver(t *testing.T, root string, o DriverOptions) *Driver {
	t.Helper()
	o.Path = root
	if o.Chunked == (chunked.Options{}) {
		o.Chunked = smallChunks("zlib")
	}
	log := logrus.New()
	log.Out = io.Discard
	d, err := NewDriver(o, log)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newBackup(id, volumeID string, parent *resource.Backup) *resource.Backup {
	b := &resource.Backup{ID: id, VolumeID: volumeID, Name: "b-" + id[:4], CreatedAt: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)}
	if parent != nil {
		b.ParentID = parent.ID
	}
	return b
}

// take backs v up as b and records the result on b, as the manager does.
func take(t *testing.T, d *Driver, b, parent *resource.Backup, v *volume) {
	t.Helper()
	var last, total int64
	res, err := d.Backup(context.Background(), b, parent, openDevice(t, v.path), func(done, tot int64) { last, total = done, tot })
	if err != nil {
		t.Fatalf("backup %s: %v", b.ID, err)
	}
	if last != total || total != int64(len(v.data)) {
		t.Errorf("backup %s: last progress %d of %d, want %d of %d", b.ID, last, total, len(v.data), len(v.data))
	}
	b.Container, b.ServiceMetadata, b.ObjectCount = res.Container, res.ServiceMetadata, res.ObjectCount
	b.Service = d.Service()
}

// restored restores chain into a fresh file of size bytes filled with 0xee (stale data)
// and answers its bytes.
func restored(t *testing.T, d *Driver, chain []*resource.Backup, size int) ([]byte, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(path, bytes.Repeat([]byte{0xee}, size), 0o600); err != nil {
		t.Fatal(err)
	}
	err := d.Restore(context.Background(), chain, "target-volume", openDevice(t, path), nil)
	got, rerr := os.ReadFile(path)
	if rerr != nil {
		t.Fatal(rerr)
	}
	return got, err
}

const (
	volID = "5d2f7d4c-1f1e-4b6e-8c83-7f0e9a1b2c3d"
	full  = "aa11b2c3-0000-4000-8000-000000000001"
	inc1  = "bb22c3d4-0000-4000-8000-000000000002"
	inc2  = "cc33d4e5-0000-4000-8000-000000000003"
)

// chainOf3 takes a full backup and two incrementals, with writes between, and answers the
// backups and the volume's contents at each.
func chainOf3(t *testing.T, d *Driver) ([]*resource.Backup, [][]byte, *volume) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	v := newVolume(t, 1<<20)
	v.write(t, rng, 0, 100_000)
	v.write(t, rng, 700_000, 5000)
	bf := newBackup(full, volID, nil)
	take(t, d, bf, nil, v)
	s0 := v.snapshot()

	v.write(t, rng, 70_000, 10) // inside the first object
	v.write(t, rng, 1<<19, 9000)
	b1 := newBackup(inc1, volID, bf)
	take(t, d, b1, bf, v)
	s1 := v.snapshot()

	copy(v.data[0:4096], make([]byte, 4096)) // zeros over data: an incremental must write them
	v.write(t, rng, (1<<20)-100, 100)
	b2 := newBackup(inc2, volID, b1)
	take(t, d, b2, b1, v)
	s2 := v.snapshot()
	return []*resource.Backup{bf, b1, b2}, [][]byte{s0, s1, s2}, v
}

func TestBackupResult(t *testing.T) {
	root := t.TempDir()
	d := newDriver(t, root, DriverOptions{})
	if d.Service() != config.BackupDriverPosix {
		t.Errorf("Service = %q", d.Service())
	}
	chain, _, _ := chainOf3(t, d)
	bf, b1 := chain[0], chain[1]
	if bf.Container != ContainerName(full, "") {
		t.Errorf("container = %q, want Cinder's generated %q", bf.Container, ContainerName(full, ""))
	}
	if want := "volume_" + volID + "_"; !strings.HasPrefix(bf.ServiceMetadata, want) || !strings.HasSuffix(bf.ServiceMetadata, "_backup_"+full) {
		t.Errorf("service_metadata = %q, want Cinder's prefix", bf.ServiceMetadata)
	}
	// 1 MiB in 64 KiB objects: 16 objects for the full backup; the first incremental
	// changed two runs.
	if bf.ObjectCount != 16 || b1.ObjectCount != 2 {
		t.Errorf("object counts = %d, %d; want 16, 2", bf.ObjectCount, b1.ObjectCount)
	}
	md, err := os.ReadFile(filepath.Join(root, bf.Container, bf.ServiceMetadata+"_metadata"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"backup_id": "` + full + `"`, `"version": "1.0.0"`, `"parent_id": null`, `"volume_id": "` + volID + `"`} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("metadata lacks %s:\n%s", want, md)
		}
	}
	md1, err := os.ReadFile(filepath.Join(root, b1.Container, b1.ServiceMetadata+"_metadata"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(md1, []byte(`"parent_id": "`+full+`"`)) {
		t.Errorf("incremental metadata lacks its parent:\n%s", md1)
	}
}

func TestRestoreChain(t *testing.T) {
	d := newDriver(t, t.TempDir(), DriverOptions{})
	chain, states, v := chainOf3(t, d)
	tests := []struct {
		name  string
		chain []*resource.Backup
		want  []byte
	}{
		{"full", chain[:1], states[0]},
		{"middle of the chain", chain[:2], states[1]},
		{"last", chain, states[2]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := restored(t, d, tc.chain, len(v.data))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("restored bytes differ from the volume at the backup (first at %d)", firstDiff(got, tc.want))
			}
		})
	}
	t.Run("larger volume keeps its excess bytes", func(t *testing.T) {
		got, err := restored(t, d, chain, len(v.data)+8192)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[:len(v.data)], states[2]) || !bytes.Equal(got[len(v.data):], bytes.Repeat([]byte{0xee}, 8192)) {
			t.Fatal("restore onto a larger volume: the backup's bytes or the excess differ")
		}
	})
	t.Run("broken chain refused", func(t *testing.T) {
		if _, err := restored(t, d, []*resource.Backup{chain[0], chain[2]}, len(v.data)); err == nil {
			t.Fatal("restore of a chain that skips a link succeeded")
		}
	})
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestDeleteLastThenRestoreMiddle(t *testing.T) {
	root := t.TempDir()
	d := newDriver(t, root, DriverOptions{})
	chain, states, v := chainOf3(t, d)
	for range 2 { // idempotent
		if err := d.Delete(context.Background(), chain[2]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, chain[2].Container)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the deleted backup's generated container is still there: %v", err)
	}
	got, err := restored(t, d, chain[:2], len(v.data))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, states[1]) {
		t.Fatal("restore of the middle backup after the last was deleted differs")
	}
	if _, err := restored(t, d, chain, len(v.data)); !errors.Is(err, chunked.ErrIncomplete) {
		t.Fatalf("restore of the deleted backup: %v, want ErrIncomplete", err)
	}
	// Everything deleted: the backup directory holds no container, no file.
	for _, b := range chain[:2] {
		if err := d.Delete(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(root, "*"))
	if len(left) != 0 {
		t.Fatalf("after every delete the backup directory holds %v", left)
	}
}

func TestDeleteNeverStored(t *testing.T) {
	d := newDriver(t, t.TempDir(), DriverOptions{})
	b := newBackup(full, volID, nil) // no container, no prefix: failed before writing
	if err := d.Delete(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

func TestContainers(t *testing.T) {
	tests := []struct {
		name, asked, def, want string
		removed                bool
	}{
		{"generated", "", "", ContainerName(full, ""), true},
		{"backup_container", "", "shared", "shared", false},
		{"asked wins", "mine/sub", "shared", "mine/sub", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			d := newDriver(t, root, DriverOptions{DefaultContainer: tc.def})
			v := newVolume(t, 64<<10)
			v.write(t, rand.New(rand.NewPCG(3, 4)), 0, 1000)
			b := newBackup(full, volID, nil)
			b.Container = tc.asked
			take(t, d, b, nil, v)
			if b.Container != tc.want {
				t.Fatalf("container = %q, want %q", b.Container, tc.want)
			}
			if err := d.Delete(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			_, err := os.Stat(filepath.Join(root, tc.want))
			if gone := errors.Is(err, os.ErrNotExist); gone != tc.removed {
				t.Fatalf("container removed = %v, want %v", gone, tc.removed)
			}
		})
	}
	if _, err := NewDriver(DriverOptions{Path: t.TempDir(), Chunked: smallChunks("zlib"), DefaultContainer: "../out"}, nil); !errors.Is(err, chunked.ErrInvalid) {
		t.Errorf("backup_container ../out: %v, want ErrInvalid", err)
	}
	if _, err := NewDriver(DriverOptions{Path: t.TempDir(), Chunked: chunked.Options{FileSize: 1000, SHABlockSize: 4096, CompressionAlgorithm: "zlib"}}, nil); !errors.Is(err, chunked.ErrInvalid) {
		t.Errorf("backup_file_size not a multiple: %v, want ErrInvalid", err)
	}
}

func TestCompressionAlgorithms(t *testing.T) {
	// The metadata records the algorithm as configured, lower-cased, as Cinder does.
	tests := []struct{ algorithm, recorded string }{
		{"none", "none"}, {"zlib", "zlib"}, {"gzip", "gzip"}, {"bz2", "bz2"}, {"zstd", "zstd"}, {"ZSTD", "zstd"},
	}
	for _, tc := range tests {
		t.Run(tc.algorithm, func(t *testing.T) {
			root := t.TempDir()
			d := newDriver(t, root, DriverOptions{Chunked: smallChunks(tc.algorithm)})
			v := newVolume(t, 256<<10)
			rng := rand.New(rand.NewPCG(5, 6))
			v.write(t, rng, 10_000, 30_000)
			copy(v.data[100_000:], bytes.Repeat([]byte("compressible "), 5000))
			if err := os.WriteFile(v.path, v.data, 0o600); err != nil {
				t.Fatal(err)
			}
			b := newBackup(full, volID, nil)
			take(t, d, b, nil, v)
			md, err := os.ReadFile(filepath.Join(root, b.Container, b.ServiceMetadata+"_metadata"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(md, []byte(`"compression": "`+tc.recorded+`"`)) && !(tc.recorded == "none" && bytes.Contains(md, []byte(`"compression": null`))) {
				t.Errorf("metadata does not record compression %s:\n%.600s", tc.recorded, md)
			}
			got, err := restored(t, d, []*resource.Backup{b}, len(v.data))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, v.data) {
				t.Fatalf("restore differs at %d", firstDiff(got, v.data))
			}
		})
	}
}

func TestExportImport(t *testing.T) {
	root := t.TempDir()
	d := newDriver(t, root, DriverOptions{})
	chain, states, v := chainOf3(t, d)
	info, err := d.ExportRecord(context.Background(), chain[1])
	if err != nil || len(info) != 0 {
		t.Fatalf("ExportRecord = %v, %v; want Cinder's empty driver_info", info, err)
	}
	// Another driver on the same directory imports every backup of the chain from its
	// record (id, volume, container, service_metadata) and restores the middle one.
	d2 := newDriver(t, root, DriverOptions{})
	imported := make([]*resource.Backup, 0, 2)
	for _, b := range chain[:2] {
		rec := &resource.Backup{ID: b.ID, VolumeID: b.VolumeID, Container: b.Container, ServiceMetadata: b.ServiceMetadata, ParentID: b.ParentID}
		if err := d2.ImportRecord(context.Background(), rec, info); err != nil {
			t.Fatalf("ImportRecord %s: %v", b.ID, err)
		}
		imported = append(imported, rec)
	}
	got, err := restored(t, d2, imported, len(v.data))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, states[1]) {
		t.Fatal("restore of the imported backup differs")
	}
}

func TestImportMissing(t *testing.T) {
	root := t.TempDir()
	d := newDriver(t, root, DriverOptions{})
	chain, _, _ := chainOf3(t, d)
	b := chain[0]
	rec := func(mod func(*resource.Backup)) *resource.Backup {
		r := &resource.Backup{ID: b.ID, VolumeID: b.VolumeID, Container: b.Container, ServiceMetadata: b.ServiceMetadata}
		mod(r)
		return r
	}
	tests := []struct {
		name   string
		rec    *resource.Backup
		remove string // an object of b removed first
		want   string
	}{
		{"no prefix", rec(func(r *resource.Backup) { r.ServiceMetadata = "" }), "", "no service_metadata"},
		{"other container", rec(func(r *resource.Backup) { r.Container = "elsewhere" }), "", "_metadata is missing"},
		{"container outside", rec(func(r *resource.Backup) { r.Container = "../x" }), "", ". or .. element"},
		{"metadata of another backup", rec(func(r *resource.Backup) { r.ID = inc1 }), "", "is backup " + full + "'s, not " + inc1},
		{"an object missing", rec(func(*resource.Backup) {}), b.ServiceMetadata + "-00003", "object " + b.ServiceMetadata + "-00003 of backup"},
		{"sha256file missing", rec(func(*resource.Backup) {}), b.ServiceMetadata + "_sha256file", "_sha256file is missing"},
		{"metadata missing", rec(func(*resource.Backup) {}), b.ServiceMetadata + "_metadata", "_metadata is missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.remove != "" {
				if err := os.Remove(filepath.Join(root, b.Container, tc.remove)); err != nil {
					t.Fatal(err)
				}
			}
			err := newDriver(t, root, DriverOptions{}).ImportRecord(context.Background(), tc.rec, map[string]any{})
			if !errors.Is(err, ErrNotInStore) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ImportRecord = %v, want ErrNotInStore saying %q", err, tc.want)
			}
		})
	}
}

// TestEarlierAttempt: a backup service that died mid-backup never recorded the prefix;
// the next attempt finds and reuses it (no second set of objects), and a delete without
// the prefix finds and removes what the attempt left.
func TestEarlierAttempt(t *testing.T) {
	root := t.TempDir()
	d := newDriver(t, root, DriverOptions{})
	v := newVolume(t, 256<<10)
	v.write(t, rand.New(rand.NewPCG(7, 8)), 0, 200_000)
	b := newBackup(full, volID, nil)
	take(t, d, b, nil, v)
	first := b.ServiceMetadata
	dir := filepath.Join(root, b.Container)
	// The first attempt died before its metadata, and a partial object lingers.
	if err := os.Remove(filepath.Join(dir, first+"_metadata")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, first+"-00002.part-123"), []byte("torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.now = func() time.Time { return time.Now().Add(time.Hour) } // a new prefix would differ
	retry := newBackup(full, volID, nil)
	take(t, d, retry, nil, v)
	if retry.ServiceMetadata != first {
		t.Fatalf("retry prefix %q, want the earlier attempt's %q", retry.ServiceMetadata, first)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	if want := retry.ObjectCount + 2; len(names) != want {
		t.Fatalf("container holds %d files, want %d (objects, sha256file, metadata): %v", len(names), want, names)
	}
	if err := os.Remove(filepath.Join(dir, first+"_metadata")); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(context.Background(), newBackup(full, volID, nil)); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(root, "*")); len(left) != 0 {
		t.Fatalf("delete without a recorded prefix left %v", left)
	}
}

func TestIncrementalNeedsRecordedParent(t *testing.T) {
	d := newDriver(t, t.TempDir(), DriverOptions{})
	v := newVolume(t, 64<<10)
	parent := newBackup(full, volID, nil) // never taken: no container, no prefix
	_, err := d.Backup(context.Background(), newBackup(inc1, volID, parent), parent, openDevice(t, v.path), nil)
	if !errors.Is(err, chunked.ErrInvalid) {
		t.Fatalf("incremental on an unrecorded parent: %v, want ErrInvalid", err)
	}
}
