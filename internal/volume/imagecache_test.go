package volume

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/glance"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/pkg/driver"
)

// The image-volume cache against the real Glance of deploy/glance (SCORIA_TEST_GLANCE_URL or
// /tmp/scoria-glance/env; tokens from the test Keystone's demo user), the localfile driver and
// a real SQLite store. The create-from-image flow itself is helper B1's (image_*.go); these
// tests drive the two hooks the way it does (createFromImage below).

const (
	internalProject = "internal-project"
	internalUser    = "internal-user"
)

// testGlance returns a client of the test Glance and a user's auth, skipping (failing under
// CI=true) without Glance, Keystone or qemu-img.
func testGlance(t *testing.T) (*glance.Client, glance.Auth) {
	t.Helper()
	missing := func(msg string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true, and " + msg)
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath("qemu-img"); err != nil {
		missing("no qemu-img (qemu-utils)")
	}
	u := os.Getenv("SCORIA_TEST_GLANCE_URL")
	if u == "" {
		dir := os.Getenv("GLANCE_DIR")
		if dir == "" {
			dir = "/tmp/scoria-glance"
		}
		if f, err := os.Open(filepath.Join(dir, "env")); err == nil {
			s := bufio.NewScanner(f)
			for s.Scan() {
				if k, v, ok := strings.Cut(strings.TrimSpace(s.Text()), "="); ok && k == "SCORIA_TEST_GLANCE_URL" {
					u = v
				}
			}
			f.Close()
		}
	}
	if u == "" {
		missing("no test Glance: SCORIA_TEST_GLANCE_URL unset and no /tmp/scoria-glance/env (run deploy/glance/glance-up.sh)")
	}
	keystone := os.Getenv("SCORIA_KEYSTONE_URL")
	if keystone == "" {
		keystone = "http://127.0.0.1:5000/v3"
	}
	body := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"alice","domain":{"id":"default"},"password":"alice-secret"}}},"scope":{"project":{"name":"demo-a","domain":{"id":"default"}}}}}`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, keystone+"/auth/tokens?nocatalog", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		missing("no Keystone at " + keystone + ": " + err.Error())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("alice's token: %s", resp.Status)
	}
	c, err := glance.New(glance.Config{APIServers: []string{u}, RequestTimeout: 60 * time.Second, Log: logrus.New()})
	if err != nil {
		t.Fatal(err)
	}
	return c, glance.Auth{Token: resp.Header.Get("X-Subject-Token")}
}

// cacheTestImage uploads a small qcow2 (64 MiB virtual, 3 MiB of 0x5c written) to Glance and
// returns it, deleted when t ends.
func cacheTestImage(t *testing.T, c *glance.Client, a glance.Auth) *glance.Image {
	t.Helper()
	return cacheTestImageOf(t, c, a, "64M")
}

// cacheTestImageOf is cacheTestImage with a disk of virtual size (qemu-img's notation).
func cacheTestImageOf(t *testing.T, c *glance.Client, a glance.Auth, virtual string) *glance.Image {
	t.Helper()
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "image.qcow2")
	for _, args := range [][]string{
		{"qemu-img", "create", "-q", "-f", "qcow2", p, virtual},
		{"qemu-io", "-f", "qcow2", "-c", "write -P 0x5c 1M 3M", p},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	img, err := c.Create(ctx, a, glance.CreateRequest{Name: "scoria-imagecache-test", DiskFormat: "qcow2",
		ContainerFormat: "bare", Visibility: "private"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Delete(context.Background(), a, img.ID); err != nil && !errors.Is(err, glance.ErrNotFound) {
			t.Errorf("clean-up of image %s: %v", img.ID, err)
		}
	})
	if err := c.Upload(ctx, a, img.ID, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if img, err = c.Show(ctx, a, img.ID); err != nil {
		t.Fatal(err)
	}
	return img
}

// countingGlance is the real Glance client, counting the downloads.
type countingGlance struct {
	Glance
	downloads atomic.Int32
}

func (g *countingGlance) Download(ctx context.Context, a glance.Auth, id string) (io.ReadCloser, error) {
	g.downloads.Add(1)
	return g.Glance.Download(ctx, a, id)
}

type cacheFixture struct {
	*fixture
	glance *countingGlance
	auth   glance.Auth
}

// newCacheFixture is a fixture whose backend has the cache on, with opts changed by mod.
func newCacheFixture(t *testing.T, mod func(*ImageCacheOptions)) *cacheFixture {
	t.Helper()
	c, a := testGlance(t)
	f := newFixture(t)
	g := &countingGlance{Glance: c}
	opts := ImageCacheOptions{Enabled: true, ProjectID: internalProject, UserID: internalUser}
	if mod != nil {
		mod(&opts)
	}
	f.m.Images = &Images{Glance: g, ConversionDir: t.TempDir(), Cache: opts}
	reportCachePool(t, f)
	return &cacheFixture{fixture: f, glance: g, auth: a}
}

// reportCachePool reports the fixture's pool: a cache volume's size is claimed on it.
func reportCachePool(t *testing.T, f *fixture) {
	t.Helper()
	total := 1000.0
	if err := f.store.UpsertPool(context.Background(), resource.PoolCapacity{Name: host + "#file", Backend: host, TotalGB: &total,
		Ratio: 1, ReportedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// createFromImage makes a volume of size GiB of img through the create-from-image flow
// (createFromImage: the cache first, else a download, then cached) as the caller whose token
// the fixture holds, and returns the volume and whether the cache made it (no download).
func (f *cacheFixture) createFromImage(img *glance.Image, size int) (*resource.Volume, bool) {
	t := f.t
	t.Helper()
	ctx := reqctx.With(context.Background(), reqctx.Context{RequestID: reqctx.NewRequestID(), AuthToken: f.auth.Token})
	log := f.m.Log.WithField("test", t.Name())
	v := f.volume(resource.StatusCreating, host+"#file", size)
	before := f.glance.downloads.Load()
	if err := f.m.createFromImage(ctx, log, v, img.ID); err != nil {
		t.Fatal(err)
	}
	got, err := f.store.GetVolume(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != resource.StatusAvailable {
		t.Fatalf("volume %s made from image %s is %s, want available", v.ID, img.ID, got.Status)
	}
	// A volume that seeded the cache was made at the image's size: it must have been grown.
	if st, err := os.Stat(filepath.Join(f.drv.Dir, driver.StorageName(v.ID))); err != nil || st.Size() != int64(size)*driver.GiB {
		t.Fatalf("volume %s: %v, size %v, want %d GiB", v.ID, err, st, size)
	}
	return got, f.glance.downloads.Load() == before
}

// cacheVolumes are the live volumes of the internal project on the backend.
func (f *cacheFixture) cacheVolumes() []*resource.Volume {
	f.t.Helper()
	vols, err := f.store.ListVolumesByHost(context.Background(), host, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []*resource.Volume
	for _, v := range vols {
		if v.ProjectID == internalProject {
			out = append(out, v)
		}
	}
	return out
}

// sameData fails t unless volumes a and b hold the same bytes over a's size.
func (f *cacheFixture) sameData(a, b string) {
	f.t.Helper()
	out, err := exec.Command("qemu-img", "compare", "-f", "raw", "-F", "raw",
		filepath.Join(f.drv.Dir, driver.StorageName(a)), filepath.Join(f.drv.Dir, driver.StorageName(b))).CombinedOutput()
	if err != nil {
		f.t.Fatalf("volumes %s and %s differ: %v: %s", a, b, err, out)
	}
}

func (f *cacheFixture) internalUsage() (volumes, gigabytes int64) {
	f.t.Helper()
	qs, err := f.store.ProjectQuotas(context.Background(), internalProject)
	if err != nil {
		f.t.Fatal(err)
	}
	v, _ := qs.Get(resource.QuotaVolumes)
	g, _ := qs.Get(resource.QuotaGigabytes)
	return v.InUse, g.InUse
}

// checkQuota fails t unless the internal project's usage is that of its volumes' rows.
func (f *cacheFixture) checkQuota() {
	f.t.Helper()
	var n, gb int64
	for _, v := range f.cacheVolumes() {
		n, gb = n+1, gb+int64(v.Size)
	}
	if gotN, gotGB := f.internalUsage(); gotN != n || gotGB != gb {
		f.t.Fatalf("internal project uses %d volumes, %d GiB; its rows are %d volumes, %d GiB", gotN, gotGB, n, gb)
	}
}

func TestImageCacheFirstCreateCachesSecondClones(t *testing.T) {
	f := newCacheFixture(t, nil)
	ctx := context.Background()
	img := cacheTestImage(t, f.glance.Glance.(*glance.Client), f.auth)

	first, hit := f.createFromImage(img, 1)
	if hit || f.glance.downloads.Load() != 1 {
		t.Fatalf("first create: hit %v, %d downloads; want a miss and one download", hit, f.glance.downloads.Load())
	}
	cached := f.cacheVolumes()
	if len(cached) != 1 {
		t.Fatalf("%d cache volumes after the first create, want 1", len(cached))
	}
	cv := cached[0]
	if cv.Name != "image-"+img.ID || cv.Status != resource.StatusAvailable || cv.UserID != internalUser ||
		cv.Size != 1 || cv.SourceVolID != first.ID || !cv.Bootable || cv.Host != first.Host {
		t.Fatalf("cache volume = %+v", cv)
	}
	e, err := f.store.ImageCacheEntry(ctx, first.Host, img.ID)
	if err != nil || e == nil || e.VolumeID != cv.ID || !e.ImageUpdatedAt.Equal(img.UpdatedAt) {
		t.Fatalf("entry = %+v, %v; want one of volume %s, image updated at %v", e, err, cv.ID, img.UpdatedAt)
	}
	md, err := f.store.VolumeMetadata(ctx, resource.GlanceMetadata, cv.ID)
	if err != nil || md["image_id"] != img.ID {
		t.Fatalf("cache volume's image metadata = %v, %v", md, err)
	}
	f.sameData(first.ID, cv.ID)
	f.checkQuota()

	// The next volumes of the image, as large or larger, are clones: no download.
	for _, size := range []int{1, 2} {
		v, hit := f.createFromImage(img, size)
		if !hit || f.glance.downloads.Load() != 1 {
			t.Fatalf("create of %d GiB: hit %v, %d downloads; want a hit and still one download", size, hit, f.glance.downloads.Load())
		}
		if got := f.fileSize(v.ID); got != int64(size)*driver.GiB {
			t.Fatalf("clone of %d GiB has %d bytes", size, got)
		}
		f.sameData(first.ID, v.ID)
	}
	if after, _ := f.store.ImageCacheEntry(ctx, first.Host, img.ID); !after.LastUsed.After(e.LastUsed) {
		t.Fatalf("last_used %v not moved on from %v by the hits", after.LastUsed, e.LastUsed)
	}
	if n := len(f.cacheVolumes()); n != 1 {
		t.Fatalf("%d cache volumes, want still 1", n)
	}

	// Deleting the cache volume as any volume removes it from the cache.
	if _, err := f.store.TransitionVolume(ctx, cv.ID, resource.DeletableStatuses, resource.VolumeChange{Status: resource.StatusDeleting}); err != nil {
		t.Fatal(err)
	}
	if err := f.m.DeleteVolume(ctx, cv.ID); err != nil {
		t.Fatal(err)
	}
	if e, err := f.store.ImageCacheEntry(ctx, first.Host, img.ID); e != nil || err != nil {
		t.Fatalf("entry after its volume's delete = %+v, %v", e, err)
	}
	f.checkQuota()
	if _, hit := f.createFromImage(img, 1); hit || f.glance.downloads.Load() != 2 {
		t.Fatalf("create after the cache volume's delete: hit %v, %d downloads; want a miss, 2", hit, f.glance.downloads.Load())
	}
}

func TestImageCacheEvictsUpdatedImage(t *testing.T) {
	f := newCacheFixture(t, nil)
	ctx := context.Background()
	c := f.glance.Glance.(*glance.Client)
	img := cacheTestImage(t, c, f.auth)
	f.createFromImage(img, 1)
	old := f.cacheVolumes()
	if len(old) != 1 {
		t.Fatalf("%d cache volumes, want 1", len(old))
	}
	time.Sleep(1100 * time.Millisecond) // Glance's updated_at counts seconds
	updated, err := c.Update(ctx, f.auth, img.ID, glance.SetProperty("scoria_note", "changed"))
	if err != nil {
		t.Fatal(err)
	}
	if updated.UpdatedAt.Equal(img.UpdatedAt) {
		t.Fatalf("image updated_at did not change (%v)", img.UpdatedAt)
	}
	if _, hit := f.createFromImage(updated, 1); hit || f.glance.downloads.Load() != 2 {
		t.Fatalf("create of the updated image: hit %v, %d downloads; want a miss and a second download", hit, f.glance.downloads.Load())
	}
	if got := f.status(old[0].ID); got != "gone" {
		t.Fatalf("out-of-date cache volume is %s, want gone", got)
	}
	if _, err := os.Stat(filepath.Join(f.drv.Dir, driver.StorageName(old[0].ID))); !os.IsNotExist(err) {
		t.Fatalf("out-of-date cache volume's file: %v", err)
	}
	now := f.cacheVolumes()
	e, _ := f.store.ImageCacheEntry(ctx, host+"#file", img.ID)
	if len(now) != 1 || e == nil || e.VolumeID != now[0].ID || !e.ImageUpdatedAt.Equal(updated.UpdatedAt) {
		t.Fatalf("after the update: cache volumes %v, entry %+v; want one, of the updated image", now, e)
	}
	f.checkQuota()
}

func TestImageCacheBounds(t *testing.T) {
	tests := []struct {
		name  string
		opts  func(*ImageCacheOptions)
		sizes []int // GiB of each image's disk (and of the volume made of it), in turn
		// want are the indexes of the images cached at the end
		want []int
	}{
		{"max_count 1 evicts the older", func(o *ImageCacheOptions) { o.MaxCount = 1 }, []int{1, 1}, []int{1}},
		{"max_size_gb evicts until the new one fits", func(o *ImageCacheOptions) { o.MaxSizeGB = 3 }, []int{1, 1, 2}, []int{1, 2}},
		{"an image larger than max_size_gb is not cached", func(o *ImageCacheOptions) { o.MaxSizeGB = 1 }, []int{1, 2}, []int{0}},
		{"no bound", nil, []int{1, 1, 1}, []int{0, 1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newCacheFixture(t, tc.opts)
			ctx := context.Background()
			c := f.glance.Glance.(*glance.Client)
			var imgs []*glance.Image
			for _, size := range tc.sizes {
				img := cacheTestImageOf(t, c, f.auth, fmt.Sprintf("%dG", size))
				imgs = append(imgs, img)
				f.createFromImage(img, size+1) // the cache volume has the image's size, not the volume's
			}
			var got []int
			for i, img := range imgs {
				if e, err := f.store.ImageCacheEntry(ctx, host+"#file", img.ID); err != nil {
					t.Fatal(err)
				} else if e != nil {
					got = append(got, i)
				}
			}
			if !equalInts(got, tc.want) {
				t.Fatalf("images cached = %v, want %v", got, tc.want)
			}
			if n := len(f.cacheVolumes()); n != len(tc.want) {
				t.Fatalf("%d cache volumes, want %d", n, len(tc.want))
			}
			f.checkQuota()
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// handCached makes, as cacheImageVolume does, an entry of img with a cache volume of size GiB
// in status (its storage made unless it is creating).
func handCached(t *testing.T, f *fixture, img *glance.Image, size int, status string) *resource.Volume {
	t.Helper()
	ctx := context.Background()
	reportCachePool(t, f)
	cv := &resource.Volume{ID: uuid.NewString(), ProjectID: internalProject, UserID: internalUser, Name: "image-" + img.ID,
		Size: size, Host: host + "#file", AvailabilityZone: "nova", Metadata: map[string]string{}}
	if err := f.store.CreateImageCacheVolume(ctx, cv, &resource.ImageCacheEntry{ImageID: img.ID, ImageUpdatedAt: img.UpdatedAt}); err != nil {
		t.Fatal(err)
	}
	if status == resource.StatusCreating {
		return cv
	}
	cvd, _ := f.m.driverVolume(ctx, cv)
	if _, err := f.m.create(ctx, cvd); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.TransitionVolume(ctx, cv.ID, []string{resource.StatusCreating}, resource.VolumeChange{Status: status}); err != nil {
		t.Fatal(err)
	}
	return cv
}

// cacheOn gives f's manager the cache, with no Glance (the hooks are given the image).
func cacheOn(f *fixture) {
	f.m.Images = &Images{Cache: ImageCacheOptions{Enabled: true, ProjectID: internalProject, UserID: internalUser}}
}

// The hooks when the cache must not be used: an available entry is not cloned, and a
// downloaded volume is not cached.
func TestImageCacheNotUsed(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fixture, v *resource.Volume)
	}{
		{"cache off", func(f *fixture, _ *resource.Volume) { f.m.Images.Cache.Enabled = false }},
		{"no internal project", func(f *fixture, _ *resource.Volume) { f.m.Images.Cache.ProjectID = "" }},
		{"no internal user", func(f *fixture, _ *resource.Volume) { f.m.Images.Cache.UserID = "" }},
		{"no Images", func(f *fixture, _ *resource.Volume) { f.m.Images = nil }},
		{"driver cannot clone", func(f *fixture, _ *resource.Volume) { f.m.Driver = struct{ driver.Driver }{f.drv} }},
		{"encrypted volume", func(_ *fixture, v *resource.Volume) { v.EncryptionKeyID = uuid.NewString() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			cacheOn(f)
			ctx := context.Background()
			cached := &glance.Image{ID: uuid.NewString(), UpdatedAt: time.Now().UTC()}
			handCached(t, f, cached, 1, resource.StatusAvailable)
			v := f.volume(resource.StatusCreating, host+"#file", 1)
			tc.setup(f, v)
			dv := driver.Volume{ID: v.ID, Name: driver.StorageName(v.ID), SizeGiB: 1, Pool: "file"}
			if _, hit, err := f.m.createFromImageCache(ctx, f.m.Log, v, dv, cached); hit || err != nil {
				t.Fatalf("createFromImageCache: hit %v, err %v; want a miss", hit, err)
			}
			if _, err := f.drv.Create(ctx, dv); err != nil {
				t.Fatal(err)
			}
			other := &glance.Image{ID: uuid.NewString(), UpdatedAt: time.Now().UTC()}
			f.m.cacheImageVolume(ctx, f.m.Log, v, dv, other)
			if e, err := f.store.ImageCacheEntry(ctx, host+"#file", other.ID); e != nil || err != nil {
				t.Fatalf("cacheImageVolume cached the image: %+v, %v", e, err)
			}
		})
	}
}

// Entries that are there but cannot serve: a smaller volume, a cache volume being made, one
// that failed (evicted), the image updated (evicted).
func TestImageCacheEntryNotCloned(t *testing.T) {
	updated := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		name        string
		size        int
		cacheStatus string
		imageTime   time.Time
		wantEvicted bool
	}{
		{"volume smaller than the cache volume", 1, resource.StatusAvailable, updated, false},
		{"cache volume being made", 2, resource.StatusCreating, updated, false},
		{"cache volume failed", 2, resource.StatusError, updated, true},
		{"image updated", 2, resource.StatusAvailable, updated.Add(time.Second), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			cacheOn(f)
			ctx := context.Background()
			img := &glance.Image{ID: uuid.NewString(), UpdatedAt: updated}
			cv := handCached(t, f, img, 2, tc.cacheStatus)
			v := f.volume(resource.StatusCreating, host+"#file", tc.size)
			dv, _ := f.m.driverVolume(ctx, v)
			img.UpdatedAt = tc.imageTime
			if _, hit, err := f.m.createFromImageCache(ctx, f.m.Log, v, dv, img); hit || err != nil {
				t.Fatalf("hit %v, err %v; want a miss", hit, err)
			}
			if f.fileSize(v.ID) != -1 {
				t.Fatal("a miss made storage")
			}
			gone := f.status(cv.ID) == "gone" && f.fileSize(cv.ID) == -1
			if gone != tc.wantEvicted {
				t.Fatalf("cache volume evicted = %v (status %s), want %v", gone, f.status(cv.ID), tc.wantEvicted)
			}
			if e, _ := f.store.ImageCacheEntry(ctx, host+"#file", img.ID); (e == nil) != tc.wantEvicted {
				t.Fatalf("entry = %+v, want evicted %v", e, tc.wantEvicted)
			}
		})
	}
}

// A crash after the cache volume's row and entry, before its storage: Recover makes it again
// from the volume it clones, and the next create is a hit.
func TestImageCacheVolumeRecovered(t *testing.T) {
	f := newFixture(t)
	cacheOn(f)
	ctx := context.Background()
	img := &glance.Image{ID: uuid.NewString(), UpdatedAt: time.Now().UTC()}
	src := f.volume(resource.StatusCreating, host+"#file", 1)
	srcDV, _ := f.m.driverVolume(ctx, src)
	p, err := f.m.create(ctx, srcDV)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.drv.Dir, driver.StorageName(src.ID)), bytes.Repeat([]byte{0x5c}, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(f.drv.Dir, driver.StorageName(src.ID)), driver.GiB); err != nil {
		t.Fatal(err)
	}
	if err := f.m.finishCreate(ctx, src, p); err != nil {
		t.Fatal(err)
	}
	// What cacheImageVolume writes before the storage.
	reportCachePool(t, f)
	cv := &resource.Volume{ID: uuid.NewString(), ProjectID: internalProject, UserID: internalUser, Name: "image-" + img.ID,
		Size: 1, Host: src.Host, AvailabilityZone: "nova", SourceVolID: src.ID, Metadata: map[string]string{}}
	if err := f.store.CreateImageCacheVolume(ctx, cv, &resource.ImageCacheEntry{ImageID: img.ID, ImageUpdatedAt: img.UpdatedAt}); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.status(cv.ID); got != resource.StatusAvailable {
		t.Fatalf("cache volume after recovery is %s, want available", got)
	}
	want, _ := os.ReadFile(filepath.Join(f.drv.Dir, driver.StorageName(src.ID)))
	got, _ := os.ReadFile(filepath.Join(f.drv.Dir, driver.StorageName(cv.ID)))
	if !bytes.Equal(got, want) {
		t.Fatal("recovered cache volume does not hold its source's data")
	}
	v := f.volume(resource.StatusCreating, host+"#file", 1)
	dv, _ := f.m.driverVolume(ctx, v)
	if _, hit, err := f.m.createFromImageCache(ctx, f.m.Log, v, dv, img); !hit || err != nil {
		t.Fatalf("create after recovery: hit %v, err %v; want a hit", hit, err)
	}
}

// Creates of one image at once, each caching its downloaded volume: one cache volume, and no
// storage but the volumes' and its.
func TestImageCacheConcurrentCreates(t *testing.T) {
	f := newFixture(t)
	cacheOn(f)
	reportCachePool(t, f)
	ctx := context.Background()
	img := &glance.Image{ID: uuid.NewString(), UpdatedAt: time.Now().UTC()}
	const n = 4
	vols := make([]*resource.Volume, n)
	dvs := make([]driver.Volume, n)
	for i := range vols {
		vols[i] = f.volume(resource.StatusCreating, host+"#file", 1)
		dvs[i], _ = f.m.driverVolume(ctx, vols[i])
		if _, err := f.m.create(ctx, dvs[i]); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	for i := range vols {
		go func() {
			defer func() { done <- struct{}{} }()
			f.m.cacheImageVolume(ctx, f.m.Log, vols[i], dvs[i], img)
		}()
	}
	for range vols {
		<-done
	}
	vs, err := f.store.ListVolumesByHost(ctx, host, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cached []string
	for _, v := range vs {
		if v.ProjectID == internalProject {
			cached = append(cached, v.ID)
		}
	}
	if len(cached) != 1 || f.status(cached[0]) != resource.StatusAvailable {
		t.Fatalf("cache volumes %v, want one, available", cached)
	}
	files, err := os.ReadDir(f.drv.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var volumeFiles int
	for _, e := range files {
		if strings.HasPrefix(e.Name(), "volume-") {
			volumeFiles++
		}
	}
	if volumeFiles != n+1 {
		t.Fatalf("%d volume files, want %d (the volumes and one cache volume)", volumeFiles, n+1)
	}
}
