//go:build ceph

package rbd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/glance"
	"github.com/scoria/scoria/pkg/driver"
)

func TestParseLocation(t *testing.T) {
	for _, c := range []struct {
		loc  string
		want rbdLocation
		err  string
	}{
		{loc: "rbd://fsid/images/id/snap", want: rbdLocation{"fsid", "images", "id", "snap"}},
		{loc: "rbd://a%2Fb/p%20q/i/s", want: rbdLocation{"a/b", "p q", "i", "s"}},
		{loc: "file:///var/lib/glance/images/id", err: "not stored in RBD"},
		{loc: "rbd://fsid//id/snap", err: "blank components"},
		{loc: "rbd://fsid/images/id", err: "not an RBD snapshot"},
		{loc: "rbd://fsid/images/id/snap/more", err: "not an RBD snapshot"},
		{loc: "rbd://fsid/images/%zz/snap", err: "bad escape"},
	} {
		t.Run(c.loc, func(t *testing.T) {
			got, err := parseLocation(c.loc)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("= %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

// The chunks of a range are each within one object, cover it exactly, and a worker's error
// stops the rest.
func TestChunks(t *testing.T) {
	mu := make(chan struct{}, 1)
	var seen []extent
	err := chunks(context.Background(), []extent{{3, 10}, {20, 4}}, 8, func(buf []byte, off uint64) error {
		mu <- struct{}{}
		seen = append(seen, extent{off, uint64(len(buf))})
		<-mu
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, e := range seen {
		if e.Off/8 != (e.end()-1)/8 {
			t.Errorf("piece %+v crosses an object boundary", e)
		}
		total += e.Len
	}
	if total != 14 || len(seen) != 3 {
		t.Errorf("pieces %+v, want 3 covering 14 bytes", seen)
	}
	boom := errors.New("boom")
	err = chunks(context.Background(), []extent{{0, 1 << 20}}, 8, func([]byte, uint64) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want boom", err)
	}
}

// --- the test Glance of deploy/glance/glance-up.sh ---

// testGlance is the real Glance with a ceph store on the test cluster, as alice of demo-a.
type testGlance struct {
	c    *glance.Client
	a    glance.Auth
	pool string
}

func requireGlance(t testing.TB) testGlance {
	t.Helper()
	missing := func(msg string) {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true, and " + msg)
		}
		t.Skip(msg)
	}
	if testing.Short() {
		t.Skip("needs the test Glance (skipped with -short)")
	}
	env := map[string]string{}
	dir := env2("GLANCE_DIR", "/tmp/scoria-glance")
	if f, err := os.Open(filepath.Join(dir, "env")); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if k, v, ok := strings.Cut(strings.TrimSpace(s.Text()), "="); ok {
				env[k] = v
			}
		}
		f.Close()
	}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "SCORIA_TEST_GLANCE_") {
			env[k] = v
		}
	}
	u := env["SCORIA_TEST_GLANCE_URL"]
	if u == "" || !strings.Contains(env["SCORIA_TEST_GLANCE_STORES"], "ceph") {
		missing("no test Glance with a ceph store (SCORIA_TEST_GLANCE_URL, _STORES, or " + dir + "/env; deploy/glance/glance-up.sh)")
	}
	c, err := glance.New(glance.Config{APIServers: []string{u}, RequestTimeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"alice","domain":{"id":"default"},"password":"alice-secret"}}},"scope":{"project":{"name":"demo-a","domain":{"id":"default"}}}}}`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ks := env2("SCORIA_KEYSTONE_URL", "http://127.0.0.1:5000/v3")
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ks+"/auth/tokens?nocatalog", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		missing(fmt.Sprintf("no Keystone at %s: %v", ks, err))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("alice's token: %s", resp.Status)
	}
	return testGlance{c: c, a: glance.Auth{Token: resp.Header.Get("X-Subject-Token")}, pool: env2("SCORIA_TEST_GLANCE_RBD_POOL", "images")}
}

func env2(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// upload makes an image of the file at path in store and deletes it at the end of t (after
// the volumes the test made later are removed: clean-ups run last first). It returns what
// the driver is told of it.
func (g testGlance) upload(t testing.TB, path, diskFormat, store string) driver.Image {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	img, err := g.c.Create(ctx, g.a, glance.CreateRequest{Name: "scoria-rbd-test", DiskFormat: diskFormat, ContainerFormat: "bare", Visibility: "private"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.c.Delete(context.Background(), g.a, img.ID); err != nil && !errors.Is(err, glance.ErrNotFound) {
			t.Errorf("delete image %s: %v", img.ID, err)
		}
	})
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	if err := g.c.UploadToStore(ctx, g.a, img.ID, store, f, fi.Size()); err != nil {
		t.Fatal(err)
	}
	if img, err = g.c.Show(ctx, g.a, img.ID); err != nil {
		t.Fatal(err)
	}
	out := driver.Image{ID: img.ID, DiskFormat: img.DiskFormat, ContainerFormat: img.ContainerFormat, UpdatedAt: img.UpdatedAt}
	if img.Size != nil {
		out.Size = *img.Size
	}
	if img.VirtualSize != nil {
		out.VirtualSize = *img.VirtualSize
	}
	if img.DirectURL != "" {
		out.Locations = append(out.Locations, img.DirectURL)
	}
	for _, l := range img.Locations {
		out.Locations = append(out.Locations, l.URL)
	}
	return out
}

// --- image files ---

func requireQemuImg(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true, and no qemu-img (qemu-utils)")
		}
		t.Skip("no qemu-img (qemu-utils)")
	}
}

func run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v: %s", args, err, out)
	}
	return string(out)
}

// write is one qemu-io write of a pattern byte.
type write struct {
	pattern byte
	off, n  int64
}

// testWrites put data at the start, across an object boundary (4 MiB), in the middle of an
// object, and at the very end of a 64 MiB image, with zeros everywhere else.
var testWrites = []write{{0x5c, 0, 1 << 20}, {0xa7, 4<<20 - 4096, 8192}, {0x3e, 9<<20 + 512, 512}, {0x71, 64<<20 - 4096, 4096}}

// makeImage makes a 64 MiB image of format with testWrites, and the same as raw.
func makeImage(t testing.TB, format string) (path, rawPath string) {
	t.Helper()
	requireQemuImg(t)
	dir := t.TempDir()
	path = filepath.Join(dir, "image."+format)
	run(t, "qemu-img", "create", "-q", "-f", format, path, "64M")
	for _, w := range testWrites {
		run(t, "qemu-io", "-f", format, "-c", fmt.Sprintf("write -P %d %d %d", w.pattern, w.off, w.n), path)
	}
	rawPath = filepath.Join(dir, "image.raw.ref")
	run(t, "qemu-img", "convert", "-f", format, "-O", "raw", path, rawPath)
	return path, rawPath
}

// sameImage says whether images a and b hold the same disk (qemu-img compare: the larger
// one's extra part must be zeros).
func sameImage(t testing.TB, a, af, b, bf string) {
	t.Helper()
	out, err := exec.Command("qemu-img", "compare", "-f", af, "-F", bf, a, b).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img compare %s %s: %v: %s", a, b, err, out)
	}
}

// exported reads volume name out with the rbd CLI (an independent reader) into a raw file.
func (c testCluster) exported(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".export")
	if _, err := c.rbdCLI(nil, "export", "--no-progress", name, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// du is `rbd du` of an image: the bytes its own objects use.
func (c testCluster) du(t *testing.T, name string) int64 {
	t.Helper()
	out, err := c.rbdCLI(t, "du", "--format", "json", name)
	if err != nil {
		t.Fatal(err)
	}
	var du struct {
		Images []struct {
			Name     string `json:"name"`
			Snapshot string `json:"snapshot"`
			UsedSize int64  `json:"used_size"`
		} `json:"images"`
	}
	if err := json.Unmarshal(out, &du); err != nil {
		t.Fatalf("rbd du: %v: %s", err, out)
	}
	for _, i := range du.Images {
		if i.Name == name && i.Snapshot == "" {
			return i.UsedSize
		}
	}
	t.Fatalf("rbd du %s: not listed: %s", name, out)
	return 0
}

// --- CloneImage ---

// A raw image in Glance's ceph store: the volume is a clone of images/<id>@snap of the
// volume's size, reads the image's data, and uses no space of its own; a second call is a
// success that changes nothing; with rbd_flatten_volume_from_snapshot the volume has no
// parent and the same data. The image can be deleted from Glance once the volumes are gone.
func TestCloneImage(t *testing.T) {
	d, cl := requireCluster(t, nil)
	g := requireGlance(t)
	ctx := ctxT(t)
	_, raw := makeImage(t, "qcow2")
	img := g.upload(t, raw, "raw", "ceph")

	v := volume(2)
	t.Cleanup(func() { cleanup(d, v.ID) })
	for i := 0; i < 2; i++ { // idempotent
		if _, ok, err := d.CloneImage(ctx, v, img); !ok || err != nil {
			t.Fatalf("clone #%d: ok %v, %v (locations %v)", i+1, ok, err, img.Locations)
		}
	}
	info := cl.mustInfo(t, v.Name)
	if info.Parent == nil || info.Parent.Pool != g.pool || info.Parent.Image != img.ID || info.Parent.Snapshot != "snap" ||
		info.Size != 2*driver.GiB || info.Parent.Overlap != 64<<20 {
		t.Fatalf("rbd info %s = %+v, parent %+v; want a 2 GiB clone of %s/%s@snap", v.Name, info, info.Parent, g.pool, img.ID)
	}
	if used := cl.du(t, v.Name); used != 0 {
		t.Errorf("the clone uses %d bytes of its own, want 0 (nothing copied)", used)
	}
	sameImage(t, raw, "raw", cl.exported(t, v.Name), "raw")

	flat, _ := requireCluster(t, func(d *Driver) { d.FlattenFromSnapshot = true })
	f := volume(1)
	t.Cleanup(func() { cleanup(d, f.ID) })
	if _, ok, err := flat.CloneImage(ctx, f, img); !ok || err != nil {
		t.Fatalf("clone, flattened: ok %v, %v", ok, err)
	}
	if info := cl.mustInfo(t, f.Name); info.Parent != nil || info.Size != driver.GiB {
		t.Errorf("flattened clone: rbd info %+v, parent %+v", info, info.Parent)
	}
	sameImage(t, raw, "raw", cl.exported(t, f.Name), "raw")

	for _, vol := range []driver.Volume{v, f} {
		if err := d.Delete(ctx, vol); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.c.Delete(ctx, g.a, img.ID); err != nil {
		t.Errorf("Glance cannot delete the image after its clones are gone: %v", err)
	}
}

// Images that cannot be cloned give ok false and leave nothing: a qcow2 in the ceph store, a
// raw image in the file store, locations of another cluster, of an image that is not there,
// of a pool this user may not read; so does a volume that exists and is no clone of it.
func TestCloneImageNotCloneable(t *testing.T) {
	d, _ := requireCluster(t, nil)
	g := requireGlance(t)
	ctx := ctxT(t)
	qcow, raw := makeImage(t, "qcow2")
	inCeph := g.upload(t, raw, "raw", "ceph")
	var fsid string
	if err := d.conns().do(ctx, "fsid", func(s *session) (err error) { fsid, err = s.conn.GetFSID(); return err }); err != nil {
		t.Fatal(err)
	}
	with := func(locs ...string) driver.Image {
		i := inCeph
		i.Locations = locs
		return i
	}
	for _, c := range []struct {
		name string
		img  driver.Image
	}{
		{"qcow2 in the ceph store", g.upload(t, qcow, "qcow2", "ceph")},
		{"raw in the file store", g.upload(t, raw, "raw", "")},
		{"another cluster", with("rbd://00000000-0000-0000-0000-000000000000/" + g.pool + "/" + inCeph.ID + "/snap")},
		{"no such image", with("rbd://" + fsid + "/" + g.pool + "/no-such-image/snap")},
		{"no such snapshot", with("rbd://" + fsid + "/" + g.pool + "/" + inCeph.ID + "/no-such-snap")},
		{"a pool this user may not read", with("rbd://" + fsid + "/device_health_metrics/x/snap")},
		{"no location", with()},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := volume(1)
			t.Cleanup(func() { cleanup(d, v.ID) })
			if _, ok, err := d.CloneImage(ctx, v, c.img); ok || err != nil {
				t.Fatalf("ok %v, %v; want false, nil (locations %v)", ok, err, c.img.Locations)
			}
			if ok, err := d.Exists(ctx, v); ok || err != nil {
				t.Errorf("volume exists after a refused clone: %v, %v", ok, err)
			}
		})
	}
	t.Run("a volume that is no clone of it", func(t *testing.T) {
		v := newVolume(t, d, 1)
		if _, ok, err := d.CloneImage(ctx, v, inCeph); ok || err != nil {
			t.Fatalf("ok %v, %v; want false, nil", ok, err)
		}
	})
	t.Run("an image larger than the volume", func(t *testing.T) {
		big := filepath.Join(t.TempDir(), "big.raw")
		run(t, "qemu-img", "create", "-q", "-f", "raw", big, "1100M")
		img := g.upload(t, big, "raw", "ceph")
		v := volume(1)
		t.Cleanup(func() { cleanup(d, v.ID) })
		if _, ok, err := d.CloneImage(ctx, v, img); ok || err == nil || !strings.Contains(err.Error(), "larger than the 1 GiB volume") {
			t.Fatalf("ok %v, %v; want an error", ok, err)
		}
		if ok, _ := d.Exists(ctx, v); ok {
			t.Error("volume made")
		}
	})
}

// --- CopyImageToVolume, CopyVolumeToImage ---

// A qcow2 written into a fresh volume reads as the image, then zeros; the conversion's
// temporary file is gone. Re-imaging a volume full of other data (and one that is a clone of
// another image) leaves exactly the image: zeros where the image has zeros, and after it.
func TestCopyImageToVolume(t *testing.T) {
	d, cl := requireCluster(t, nil)
	ctx := ctxT(t)
	qcow, raw := makeImage(t, "qcow2")
	v := newVolume(t, d, 1)
	for i := 0; i < 2; i++ { // running it again gives the same volume
		if err := d.CopyImageToVolume(ctx, v, driver.ImageFile{Path: qcow, Format: "qcow2"}); err != nil {
			t.Fatal(err)
		}
	}
	out := cl.exported(t, v.Name)
	sameImage(t, qcow, "qcow2", out, "raw")
	for _, w := range testWrites {
		if got := readAt(t, d, v.Name, int(w.n), w.off); !bytes.Equal(got, bytes.Repeat([]byte{w.pattern}, int(w.n))) {
			t.Errorf("volume at %d: not the pattern %#x", w.off, w.pattern)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(qcow)); len(entries) != 2 {
		t.Errorf("files left beside the image: %v", entries)
	}
	// Only objects with data were written: 1 MiB, 2 pieces of 4 KiB, 512 bytes, 4 KiB.
	if used := cl.du(t, v.Name); used > 5*4<<20 {
		t.Errorf("the volume uses %d bytes: zeros were written", used)
	}

	t.Run("re-image", func(t *testing.T) {
		junk := bytes.Repeat([]byte{0xee}, 6<<20)
		for _, off := range []int64{0, 4<<20 - 100, 20 << 20, 63 << 20, 100<<20 + 7, driver.GiB - 6<<20} {
			writeAt(t, d, v.Name, junk, off)
		}
		if err := d.CopyImageToVolume(ctx, v, driver.ImageFile{Path: raw, Format: "raw"}); err != nil {
			t.Fatal(err)
		}
		sameImage(t, qcow, "qcow2", cl.exported(t, v.Name), "raw")
	})

	t.Run("re-image a clone", func(t *testing.T) {
		g := requireGlance(t)
		other := filepath.Join(t.TempDir(), "other.raw")
		run(t, "qemu-img", "create", "-q", "-f", "raw", other, "32M")
		run(t, "qemu-io", "-f", "raw", "-c", "write -P 0x99 0 32M", other)
		img := g.upload(t, other, "raw", "ceph")
		c := volume(1)
		t.Cleanup(func() { cleanup(d, c.ID) })
		if _, ok, err := d.CloneImage(ctx, c, img); !ok || err != nil {
			t.Fatalf("clone: %v %v", ok, err)
		}
		if err := d.CopyImageToVolume(ctx, c, driver.ImageFile{Path: qcow, Format: "qcow2"}); err != nil {
			t.Fatal(err)
		}
		sameImage(t, qcow, "qcow2", cl.exported(t, c.Name), "raw")
	})

	t.Run("an image larger than the volume", func(t *testing.T) {
		big := filepath.Join(t.TempDir(), "big.qcow2")
		run(t, "qemu-img", "create", "-q", "-f", "qcow2", big, "2G")
		small := newVolume(t, d, 1)
		if err := d.CopyImageToVolume(ctx, small, driver.ImageFile{Path: big, Format: "qcow2"}); err == nil || !strings.Contains(err.Error(), "larger than the volume") {
			t.Fatalf("error %v, want larger than the volume", err)
		}
	})
}

// A volume read out as raw is a sparse file of the volume's size equal to it; as qcow2 an
// image qemu-img reads as the same disk; a clone's data comes from its parent too.
func TestCopyVolumeToImage(t *testing.T) {
	d, _ := requireCluster(t, nil)
	ctx := ctxT(t)
	qcow, _ := makeImage(t, "qcow2")
	v := newVolume(t, d, 1)
	if err := d.CopyImageToVolume(ctx, v, driver.ImageFile{Path: qcow, Format: "qcow2"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, format := range []string{"raw", "qcow2", "vmdk"} {
		t.Run(format, func(t *testing.T) {
			dst := filepath.Join(dir, "upload."+format)
			if err := d.CopyVolumeToImage(ctx, v, driver.ImageFile{Path: dst, Format: format}); err != nil {
				t.Fatal(err)
			}
			var info struct {
				Format      string `json:"format"`
				VirtualSize int64  `json:"virtual-size"`
				ActualSize  int64  `json:"actual-size"`
			}
			if err := json.Unmarshal([]byte(run(t, "qemu-img", "info", "--output=json", dst)), &info); err != nil {
				t.Fatal(err)
			}
			if info.Format != format || info.VirtualSize != driver.GiB || info.ActualSize > 16<<20 {
				t.Errorf("qemu-img info %+v: want %s, 1 GiB, sparse", info, format)
			}
			sameImage(t, qcow, "qcow2", dst, format)
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("files in the conversion directory: %v, want the 3 images only", entries)
	}

	t.Run("a clone", func(t *testing.T) {
		g := requireGlance(t)
		_, raw := makeImage(t, "qcow2")
		img := g.upload(t, raw, "raw", "ceph")
		c := volume(1)
		t.Cleanup(func() { cleanup(d, c.ID) })
		if _, ok, err := d.CloneImage(ctx, c, img); !ok || err != nil {
			t.Fatalf("clone: %v %v", ok, err)
		}
		writeAt(t, d, c.Name, []byte("written into the clone"), 30<<20)
		dst := filepath.Join(t.TempDir(), "clone.raw")
		if err := d.CopyVolumeToImage(ctx, c, driver.ImageFile{Path: dst, Format: "raw"}); err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(t.TempDir(), "want.raw")
		run(t, "cp", "--sparse=always", raw, want)
		w, err := os.OpenFile(want, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteAt([]byte("written into the clone"), 30<<20); err != nil {
			t.Fatal(err)
		}
		w.Close()
		sameImage(t, want, "raw", dst, "raw")
	})
}
