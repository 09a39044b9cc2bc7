package volume

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/glance"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// The image flows against the real Glance of deploy/glance/glance-up.sh (SCORIA_TEST_GLANCE_URL
// or its env file $GLANCE_DIR/env, default /tmp/scoria-glance/env), with tokens of the test
// Keystone's demo user alice (demo-a), on the localfile driver and a real database. Without
// them the tests skip, or fail under CI=true.

func missingService(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true, and " + msg)
	}
	t.Skip(msg)
}

// testGlanceURL returns the test Glance's URL, checking that it answers.
func testGlanceURL(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("GLANCE_DIR")
	if dir == "" {
		dir = "/tmp/scoria-glance"
	}
	u := os.Getenv("SCORIA_TEST_GLANCE_URL")
	if f, err := os.Open(filepath.Join(dir, "env")); err == nil && u == "" {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if k, v, ok := strings.Cut(strings.TrimSpace(s.Text()), "="); ok && k == "SCORIA_TEST_GLANCE_URL" {
				u = v
			}
		}
		f.Close()
	}
	if u == "" {
		missingService(t, "no test Glance: SCORIA_TEST_GLANCE_URL unset and no "+filepath.Join(dir, "env")+" (run deploy/glance/glance-up.sh)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(u, "/")+"/versions", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		missingService(t, fmt.Sprintf("the test Glance at %s does not answer: %v", u, err))
	}
	resp.Body.Close()
	return u
}

// demoToken logs the test Keystone's alice in to demo-a.
func demoToken(t testing.TB) string {
	t.Helper()
	ks := os.Getenv("SCORIA_KEYSTONE_URL")
	if ks == "" {
		ks = "http://127.0.0.1:5000/v3"
	}
	body := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"alice","domain":{"id":"default"},"password":"alice-secret"}}},"scope":{"project":{"name":"demo-a","domain":{"id":"default"}}}}}`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ks+"/auth/tokens?nocatalog", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		missingService(t, fmt.Sprintf("no Keystone at %s: %v", ks, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("alice's token: %s", resp.Status)
	}
	return resp.Header.Get("X-Subject-Token")
}

func needQemuImg(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"qemu-img", "qemu-io"} {
		if _, err := exec.LookPath(tool); err != nil {
			missingService(t, "no "+tool+" (qemu-utils)")
		}
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

// imageEnv is a fixture whose manager reaches the real Glance as alice.
type imageEnv struct {
	*fixture
	glance *glance.Client
	auth   glance.Auth
	ctx    context.Context // carries alice's token, as an RPC message does
}

func newImageEnv(t testing.TB, timeout time.Duration) *imageEnv {
	t.Helper()
	needQemuImg(t)
	u := testGlanceURL(t)
	token := demoToken(t)
	f := newFixture(t)
	c, err := glance.New(glance.Config{APIServers: []string{u}, RequestTimeout: timeout, NumRetries: -1, Log: f.m.Log})
	if err != nil {
		t.Fatal(err)
	}
	f.m.Images = &Images{Glance: c, ConversionDir: filepath.Join(t.TempDir(), "conversion"),
		ServiceToken: func(context.Context) (string, error) { return token, nil }}
	ctx := reqctx.With(context.Background(), reqctx.Context{RequestID: reqctx.NewRequestID(), UserID: "u", ProjectID: "p", AuthToken: token})
	return &imageEnv{fixture: f, glance: c, auth: glance.Auth{Token: token}, ctx: ctx}
}

// testImage makes a file of format in the test's directory: a qcow2 (64 MiB disk) or raw
// (8 MiB) with known patterns at known offsets.
func testImage(t *testing.T, format string) string {
	t.Helper()
	return patternImage(t, format, "write -P 0x5c 1M 3M", "write -P 0xa7 5M 64k")
}

// patternImage makes such a file written by the qemu-io commands writes.
func patternImage(t *testing.T, format string, writes ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "image."+format)
	size := map[string]string{"qcow2": "64M", "raw": "8M"}[format]
	run(t, "qemu-img", "create", "-q", "-f", format, p, size)
	args := []string{"qemu-io", "-f", format}
	for _, w := range writes {
		args = append(args, "-c", w)
	}
	run(t, append(args, p)...)
	return p
}

// upload makes an image of the file at path in Glance (deleted at the end of the test).
func (e *imageEnv) upload(t testing.TB, path, diskFormat string, props map[string]string) *glance.Image {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	img, err := e.glance.Create(ctx, e.auth, glance.CreateRequest{Name: "scoria-volume-test", DiskFormat: diskFormat,
		ContainerFormat: "bare", Visibility: "private", Properties: props})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.glance.Delete(context.Background(), e.auth, img.ID) })
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		st, _ := f.Stat()
		if err := e.glance.Upload(ctx, e.auth, img.ID, f, st.Size()); err != nil {
			t.Fatal(err)
		}
	}
	img, err = e.glance.Show(ctx, e.auth, img.ID)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// imageVolume inserts a volume row being made from img (its image metadata as the API
// writes it).
func (e *imageEnv) imageVolume(status string, size int, img *glance.Image) *resource.Volume {
	e.t.Helper()
	v := &resource.Volume{ID: uuid.NewString(), ProjectID: "p", UserID: "u", Size: size, Status: status,
		AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", Host: host + "#file", Metadata: map[string]string{},
		ImageMetadata: glance.VolumeImageMetadata(img)}
	if _, err := e.store.CreateVolume(context.Background(), v); err != nil {
		e.t.Fatal(err)
	}
	return v
}

func (e *imageEnv) volumePath(id string) string {
	return e.drv.DevicePath(driver.Volume{ID: id})
}

// sameDisk reports whether qemu-img compare finds the disks equal (a larger one must read
// as zeros past the smaller).
func sameDisk(t *testing.T, a, aFormat, b, bFormat string) (bool, string) {
	t.Helper()
	out, err := exec.Command("qemu-img", "compare", "-f", aFormat, "-F", bFormat, a, b).CombinedOutput()
	return err == nil, strings.TrimSpace(string(out))
}

func (e *imageEnv) row(id string) *resource.Volume {
	e.t.Helper()
	v, err := e.store.GetVolume(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

func (e *imageEnv) metadata(kind resource.MetadataKind, id string) map[string]string {
	e.t.Helper()
	md, err := e.store.VolumeMetadata(context.Background(), kind, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return md
}

// lastMessage is the latest user message about volume id ("" fields when none).
func (e *imageEnv) lastMessage(id string) resource.Message {
	e.t.Helper()
	msgs, err := e.store.ListMessages(context.Background(), resource.MessageFilter{ProjectID: "p", Fields: map[string]string{"resource_uuid": id}})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(msgs) == 0 {
		return resource.Message{}
	}
	return *msgs[0]
}

// tempLeft lists what is left in image_conversion_dir.
func (e *imageEnv) tempLeft() []string {
	entries, _ := os.ReadDir(e.m.Images.ConversionDir)
	var names []string
	for _, x := range entries {
		names = append(names, x.Name())
	}
	return names
}

func TestCreateFromImage(t *testing.T) {
	e := newImageEnv(t, 30*time.Second)
	for _, format := range []string{"qcow2", "raw"} {
		t.Run(format, func(t *testing.T) {
			path := testImage(t, format)
			img := e.upload(t, path, format, map[string]string{"hw_disk_bus": "scsi"})
			v := e.imageVolume(resource.StatusCreating, 1, img)
			if err := e.m.CreateVolume(e.ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, Size: 1, ImageID: img.ID, Attempts: 1}); err != nil {
				t.Fatal(err)
			}
			got := e.row(v.ID)
			if got.Status != resource.StatusAvailable || !got.Bootable {
				t.Fatalf("status %s bootable %v, want available and bootable (message %+v)", got.Status, got.Bootable, e.lastMessage(v.ID))
			}
			if same, out := sameDisk(t, path, format, e.volumePath(v.ID), "raw"); !same {
				t.Fatalf("volume differs from the image: %s", out)
			}
			if md := e.metadata(resource.GlanceMetadata, v.ID); md["image_id"] != img.ID || md["hw_disk_bus"] != "scsi" {
				t.Fatalf("image metadata %v", md)
			}
			if _, ok := e.metadata(resource.AdminMetadata, v.ID)[createFromImageKey]; ok {
				t.Fatal("the create's mark is left in admin metadata")
			}
			if left := e.tempLeft(); len(left) != 0 {
				t.Fatalf("temporary files left: %v", left)
			}
		})
	}
}

func TestCreateFromImageRefused(t *testing.T) {
	e := newImageEnv(t, 30*time.Second)
	qcow := testImage(t, "qcow2")
	big := filepath.Join(t.TempDir(), "big.qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", big, "3G")
	backed := filepath.Join(t.TempDir(), "backed.qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-b", qcow, "-F", "qcow2", backed)

	deactivated := e.upload(t, qcow, "qcow2", nil)
	if err := e.glance.Deactivate(context.Background(), e.auth, deactivated.ID); err != nil {
		t.Fatalf("deactivate: %v", err)
	}
	t.Cleanup(func() { _ = e.glance.Reactivate(context.Background(), e.auth, deactivated.ID) })
	deactivated, _ = e.glance.Show(context.Background(), e.auth, deactivated.ID)

	tests := []struct {
		name   string
		img    *glance.Image
		detail string
		text   string // a part of the message
	}{
		{"deactivated", deactivated, resource.DetailUnknownError, "is not active"},
		{"larger than the volume", e.upload(t, big, "qcow2", nil), resource.DetailUnknownError, "doesn't fit in a volume of size 1GB"},
		{"format not declared", e.upload(t, qcow, "raw", nil), resource.DetailUnknownError, "its disk_format says raw"},
		{"backing file", e.upload(t, backed, "qcow2", nil), resource.DetailUnknownError, "backing file"},
		{"missing", &glance.Image{ID: uuid.NewString(), Status: glance.StatusActive}, resource.DetailUnknownError, "could not be found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := e.imageVolume(resource.StatusCreating, 1, tc.img)
			if err := e.m.CreateVolume(e.ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, Size: 1, ImageID: tc.img.ID, Attempts: 1}); err != nil {
				t.Fatal(err)
			}
			if got := e.status(v.ID); got != resource.StatusError {
				t.Fatalf("status %s, want error", got)
			}
			msg := e.lastMessage(v.ID)
			if msg.ActionID != resource.ActionCopyImageToVolume || msg.DetailID != tc.detail || !strings.Contains(msg.Detail, tc.text) {
				t.Fatalf("message %+v, want action %s detail %s with %q", msg, resource.ActionCopyImageToVolume, tc.detail, tc.text)
			}
			if e.fileSize(v.ID) != -1 {
				t.Fatal("the failed volume's storage is left")
			}
			if left := e.tempLeft(); len(left) != 0 {
				t.Fatalf("temporary files left: %v", left)
			}
		})
	}
}

func TestCreateFromImageConversionDisabled(t *testing.T) {
	e := newImageEnv(t, 30*time.Second)
	e.m.Images.ConversionDisable = true
	qcow := e.upload(t, testImage(t, "qcow2"), "qcow2", nil)
	rawPath := testImage(t, "raw")
	raw := e.upload(t, rawPath, "raw", nil)
	for _, tc := range []struct {
		img  *glance.Image
		want string
	}{{qcow, resource.StatusError}, {raw, resource.StatusAvailable}} {
		v := e.imageVolume(resource.StatusCreating, 1, tc.img)
		if err := e.m.CreateVolume(e.ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, Size: 1, ImageID: tc.img.ID}); err != nil {
			t.Fatal(err)
		}
		if got := e.status(v.ID); got != tc.want {
			t.Fatalf("%s image: status %s, want %s (%+v)", tc.img.DiskFormat, got, tc.want, e.lastMessage(v.ID))
		}
	}
}

func TestCopyVolumeToImage(t *testing.T) {
	e := newImageEnv(t, 30*time.Second)
	src := testImage(t, "qcow2")
	from := e.upload(t, src, "qcow2", nil)
	for _, tc := range []struct {
		format   string
		attached bool
		want     string
	}{{"qcow2", false, resource.StatusAvailable}, {"raw", false, resource.StatusAvailable}, {"vmdk", false, resource.StatusAvailable}} {
		t.Run(tc.format, func(t *testing.T) {
			v := e.imageVolume(resource.StatusCreating, 1, from)
			if err := e.m.CreateVolume(e.ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, Size: 1, ImageID: from.ID}); err != nil {
				t.Fatal(err)
			}
			to := e.upload(t, "", tc.format, nil) // queued, as the API leaves it
			e.startUpload(v.ID, to.ID)
			if err := e.m.CopyVolumeToImage(e.ctx, rpcapi.CopyVolumeToImageArgs{VolumeID: v.ID, ImageID: to.ID,
				DiskFormat: tc.format, ContainerFormat: "bare", PreviousStatus: resource.StatusAvailable}); err != nil {
				t.Fatal(err)
			}
			if got := e.status(v.ID); got != tc.want {
				t.Fatalf("status %s, want %s (%+v)", got, tc.want, e.lastMessage(v.ID))
			}
			if _, ok := e.metadata(resource.AdminMetadata, v.ID)[UploadImageIDKey]; ok {
				t.Fatal("the upload's image id is left in admin metadata")
			}
			back := e.downloadImage(t, to.ID)
			if same, out := sameDisk(t, back, tc.format, e.volumePath(v.ID), "raw"); !same {
				t.Fatalf("downloaded image differs from the volume: %s", out)
			}
			if same, out := sameDisk(t, back, tc.format, src, "qcow2"); !same {
				t.Fatalf("downloaded image differs from the original: %s", out)
			}
		})
	}
}

func TestCopyVolumeToImageFails(t *testing.T) {
	e := newImageEnv(t, 30*time.Second)
	v := e.volume(resource.StatusAvailable, host+"#file", 1)
	if _, err := e.drv.Create(context.Background(), driver.Volume{ID: v.ID, SizeGiB: 1}); err != nil {
		t.Fatal(err)
	}
	to := e.upload(t, "", "qcow2", nil)
	e.startUpload(v.ID, to.ID)
	// The volume cannot be read out: its file is unreadable as the disk format asked
	// (qemu-img fails on a file it cannot open).
	if err := os.Chmod(e.volumePath(v.ID), 0); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 { // root reads anything: remove the file instead
		_ = os.Remove(e.volumePath(v.ID))
	}
	if err := e.m.CopyVolumeToImage(e.ctx, rpcapi.CopyVolumeToImageArgs{VolumeID: v.ID, ImageID: to.ID, DiskFormat: "qcow2", ContainerFormat: "bare"}); err != nil {
		t.Fatal(err)
	}
	if got := e.status(v.ID); got != resource.StatusAvailable {
		t.Fatalf("status %s, want available", got)
	}
	if msg := e.lastMessage(v.ID); msg.ActionID != resource.ActionCopyVolumeToImage || msg.DetailID != resource.DetailFailedToUploadVolume {
		t.Fatalf("message %+v", msg)
	}
	if _, err := e.glance.Show(context.Background(), e.auth, to.ID); err == nil {
		t.Fatal("the half-made image is left")
	}
	if left := e.tempLeft(); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// startUpload sets volume id as the API leaves it for copy_volume_to_image: uploading, with
// the image's id in its admin metadata.
func (e *imageEnv) startUpload(id, imageID string) {
	e.t.Helper()
	v := e.row(id)
	if _, err := e.store.TransitionVolume(context.Background(), id, []string{v.Status},
		resource.VolumeChange{Status: resource.StatusUploading, AdminMetadata: map[string]*string{UploadImageIDKey: &imageID}}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *imageEnv) downloadImage(t *testing.T, id string) string {
	t.Helper()
	body, err := e.glance.Download(context.Background(), e.auth, id)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	p := filepath.Join(t.TempDir(), "downloaded")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, body); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReimage(t *testing.T) {
	e := newImageEnv(t, 30*time.Second)
	// The first image has data past the end of the second (20M): the re-image must clear it.
	firstPath := patternImage(t, "qcow2", "write -P 0x5c 1M 3M", "write -P 0xa7 5M 64k", "write -P 0xee 20M 64k")
	first := e.upload(t, firstPath, "qcow2", map[string]string{"old": "1"})
	// Other data, which leaves zeros where the first image has some (1M-2M, 5M).
	rawPath := patternImage(t, "raw", "write -P 0x33 0 512k", "write -P 0x71 2M 2M")
	second := e.upload(t, rawPath, "raw", map[string]string{"new": "2"})
	for _, prev := range []string{resource.StatusAvailable, resource.StatusError} {
		t.Run(prev, func(t *testing.T) {
			v := e.imageVolume(resource.StatusCreating, 1, first)
			if err := e.m.CreateVolume(e.ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, ImageID: first.ID}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.store.TransitionVolume(context.Background(), v.ID, []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusDownloading}); err != nil {
				t.Fatal(err)
			}
			if err := e.m.Reimage(e.ctx, rpcapi.ReimageArgs{VolumeID: v.ID, ImageID: second.ID, PreviousStatus: prev}); err != nil {
				t.Fatal(err)
			}
			if got := e.status(v.ID); got != prev {
				t.Fatalf("status %s, want %s (%+v)", got, prev, e.lastMessage(v.ID))
			}
			// The raw image is 8 MiB; the old qcow2 image wrote up to 5 MiB + 64 KiB, and the
			// rest of the 1 GiB volume must read as zeros: compare covers both.
			if same, out := sameDisk(t, rawPath, "raw", e.volumePath(v.ID), "raw"); !same {
				t.Fatalf("volume differs from the new image: %s", out)
			}
			if md := e.metadata(resource.GlanceMetadata, v.ID); md["image_id"] != second.ID || md["new"] != "2" || md["old"] != "" {
				t.Fatalf("image metadata %v", md)
			}
		})
	}
	t.Run("deactivated image", func(t *testing.T) {
		v := e.imageVolume(resource.StatusCreating, 1, first)
		if err := e.m.CreateVolume(e.ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, ImageID: first.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.TransitionVolume(context.Background(), v.ID, []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusDownloading}); err != nil {
			t.Fatal(err)
		}
		gone := e.upload(t, rawPath, "raw", nil)
		if err := e.glance.Deactivate(context.Background(), e.auth, gone.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.m.Reimage(e.ctx, rpcapi.ReimageArgs{VolumeID: v.ID, ImageID: gone.ID, PreviousStatus: resource.StatusAvailable}); err != nil {
			t.Fatal(err)
		}
		if got, msg := e.status(v.ID), e.lastMessage(v.ID); got != resource.StatusError || msg.ActionID != resource.ActionReimageVolume {
			t.Fatalf("status %s message %+v, want error with a reimage message", got, msg)
		}
		if same, out := sameDisk(t, firstPath, "qcow2", e.volumePath(v.ID), "raw"); !same {
			t.Fatalf("the volume was written from a deactivated image: %s", out)
		}
	})
}

// stallingProxy forwards to the real Glance but, on a download (GET …/file), stops sending
// the body after after bytes and holds the connection open: Glance going silent
// mid-download, without stopping the Glance that other tests share.
type stallingProxy struct {
	target string
	after  int64
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
}

func newStallingProxy(t *testing.T, target string, after int64) *stallingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallingProxy{target: target, after: after, ln: ln}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return p
}

func (p *stallingProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *stallingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, strings.TrimRight(p.target, "/")+r.URL.RequestURI(), r.Body)
	req.Header = r.Header.Clone()
	req.ContentLength = r.ContentLength
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/file") {
		_, _ = io.Copy(w, resp.Body)
		return
	}
	_, _ = io.CopyN(w, resp.Body, p.after)
	w.(http.Flusher).Flush()
	<-r.Context().Done() // silent until the client gives up
}

func TestCreateFromImageGlanceStalls(t *testing.T) {
	e := newImageEnv(t, 30*time.Second)
	path := testImage(t, "raw")
	img := e.upload(t, path, "raw", nil)
	proxy := newStallingProxy(t, testGlanceURL(t), 1<<20)
	const timeout = 3 * time.Second
	c, err := glance.New(glance.Config{APIServers: []string{proxy.URL()}, RequestTimeout: timeout, NumRetries: -1, Log: e.m.Log})
	if err != nil {
		t.Fatal(err)
	}
	e.m.Images.Glance = c
	v := e.imageVolume(resource.StatusCreating, 1, img)
	start := time.Now()
	if err := e.m.CreateVolume(e.ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, ImageID: img.ID}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 4*timeout {
		t.Fatalf("the stalled download took %s to fail, glance_request_timeout is %s", d, timeout)
	}
	if got := e.status(v.ID); got != resource.StatusError {
		t.Fatalf("status %s, want error", got)
	}
	if msg := e.lastMessage(v.ID); !strings.Contains(msg.Detail, "Connection to the image service failed") {
		t.Fatalf("message %+v", msg)
	}
	if e.fileSize(v.ID) != -1 || len(e.tempLeft()) != 0 {
		t.Fatalf("left behind: storage %d bytes, temporary files %v", e.fileSize(v.ID), e.tempLeft())
	}
}

func TestCreateFromImageGlanceUnreachable(t *testing.T) {
	e := newImageEnv(t, 30*time.Second)
	img := e.upload(t, testImage(t, "raw"), "raw", nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	c, err := glance.New(glance.Config{APIServers: []string{dead}, RequestTimeout: 3 * time.Second, NumRetries: -1, Log: e.m.Log})
	if err != nil {
		t.Fatal(err)
	}
	e.m.Images.Glance = c
	v := e.imageVolume(resource.StatusCreating, 1, img)
	if err := e.m.CreateVolume(e.ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, ImageID: img.ID}); err != nil {
		t.Fatal(err)
	}
	if got, msg := e.status(v.ID), e.lastMessage(v.ID); got != resource.StatusError || !strings.Contains(msg.Detail, "Connection to the image service failed") {
		t.Fatalf("status %s message %+v", got, msg)
	}
}

// TestRecoverImageFlows: rows as a crash leaves them; Recover settles each.
func TestRecoverImageFlows(t *testing.T) {
	e := newImageEnv(t, 30*time.Second)
	path := testImage(t, "qcow2")
	img := e.upload(t, path, "qcow2", nil)
	ctx := context.Background()

	// A create from an image that had reached downloading: its storage made, half written.
	creating := e.imageVolume(resource.StatusCreating, 1, img)
	d, err := e.drv.Create(ctx, driver.Volume{ID: creating.ID, SizeGiB: 1})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := providerData(d)
	if _, err := e.store.TransitionVolume(ctx, creating.ID, []string{resource.StatusCreating}, resource.VolumeChange{Status: resource.StatusDownloading,
		Provider: &p, AdminMetadata: map[string]*string{createFromImageKey: &img.ID}}); err != nil {
		t.Fatal(err)
	}
	// A create from an image still in creating.
	early := e.imageVolume(resource.StatusCreating, 1, img)
	// A re-image in downloading.
	reimaged := e.imageVolume(resource.StatusCreating, 1, img)
	if _, err := e.drv.Create(ctx, driver.Volume{ID: reimaged.ID, SizeGiB: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.TransitionVolume(ctx, reimaged.ID, []string{resource.StatusCreating}, resource.VolumeChange{Status: resource.StatusDownloading}); err != nil {
		t.Fatal(err)
	}
	// An upload in uploading, its image queued, and another whose image went active.
	uploading := e.volume(resource.StatusAvailable, host+"#file", 1)
	half := e.upload(t, "", "raw", nil)
	e.startUpload(uploading.ID, half.ID)
	attached := e.volume(resource.StatusInUse, host+"#file", 1)
	if _, err := e.store.TransitionVolume(ctx, attached.ID, []string{resource.StatusInUse}, resource.VolumeChange{Status: resource.StatusInUse}); err != nil {
		t.Fatal(err)
	}
	done := e.upload(t, testImage(t, "raw"), "raw", nil)
	e.startUpload(attached.ID, done.ID)
	// A leftover temporary file of this backend, and one of another backend.
	dir := e.m.Images.ConversionDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(dir, tempPrefix+"download-x-123"+e.m.tempSuffix())
	theirs := filepath.Join(dir, tempPrefix+"download-x-123.node9@lvm")
	for _, f := range []string{mine, theirs} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// A restart: no request, so no user token (the service token is used).
	if err := e.m.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	for _, v := range []*resource.Volume{creating, early} {
		got := e.row(v.ID)
		if got.Status != resource.StatusAvailable || !got.Bootable {
			t.Fatalf("recovered create %s: status %s bootable %v (%+v)", v.ID, got.Status, got.Bootable, e.lastMessage(v.ID))
		}
		if same, out := sameDisk(t, path, "qcow2", e.volumePath(v.ID), "raw"); !same {
			t.Fatalf("recovered create differs from the image: %s", out)
		}
	}
	if got, msg := e.status(reimaged.ID), e.lastMessage(reimaged.ID); got != resource.StatusError || msg.ActionID != resource.ActionReimageVolume {
		t.Fatalf("interrupted re-image: status %s message %+v", got, msg)
	}
	if got := e.status(uploading.ID); got != resource.StatusAvailable {
		t.Fatalf("interrupted upload: status %s", got)
	}
	if _, err := e.glance.Show(ctx, e.auth, half.ID); err == nil {
		t.Fatal("the unfinished image of the interrupted upload is left")
	}
	if _, err := e.glance.Show(ctx, e.auth, done.ID); err != nil {
		t.Fatalf("the finished image was touched: %v", err)
	}
	if got := e.status(attached.ID); got != resource.StatusAvailable && got != resource.StatusInUse {
		t.Fatalf("interrupted upload of an attached volume: status %s", got)
	}
	if _, ok := e.metadata(resource.AdminMetadata, uploading.ID)[UploadImageIDKey]; ok {
		t.Fatal("the upload's image id is left in admin metadata")
	}
	if _, err := os.Stat(mine); err == nil {
		t.Fatal("this backend's leftover temporary file is still there")
	}
	if _, err := os.Stat(theirs); err != nil {
		t.Fatal("another backend's temporary file was removed")
	}
}

// TestCreateFromImageDirectFile: with allowed_direct_url_schemes = file, an image whose
// location is a file this host can read (the test Glance's file store) is read from there,
// not downloaded through Glance (a download counted by a wrapper of the real client), and
// the volume has its bytes; a location that cannot be read falls back to the download.
func TestCreateFromImageDirectFile(t *testing.T) {
	e := newImageEnv(t, 30*time.Second)
	counter := &countingGlance{Glance: e.glance}
	e.m.Images.Glance = counter
	e.m.Images.AllowedDirectURLSchemes = []string{"file"}
	path := testImage(t, "qcow2")
	img := e.upload(t, path, "qcow2", nil)
	if !strings.HasPrefix(img.DirectURL, "file://") {
		t.Fatalf("the test Glance shows direct_url %q, want a file:// location (show_image_direct_url, file store)", img.DirectURL)
	}
	v := e.imageVolume(resource.StatusCreating, 1, img)
	if err := e.m.CreateVolume(e.ctx, rpcapi.CreateVolumeArgs{VolumeID: v.ID, Size: 1, ImageID: img.ID}); err != nil {
		t.Fatal(err)
	}
	if got := e.row(v.ID); got.Status != resource.StatusAvailable {
		t.Fatalf("status %s (%+v)", got.Status, e.lastMessage(v.ID))
	}
	if n := counter.downloads.Load(); n != 0 {
		t.Fatalf("%d downloads through Glance, want 0 (read from %s)", n, img.DirectURL)
	}
	if same, out := sameDisk(t, path, "qcow2", e.volumePath(v.ID), "raw"); !same {
		t.Fatalf("volume differs from the image: %s", out)
	}
	// A location this host cannot read: downloaded through Glance.
	moved := *img
	moved.DirectURL, moved.Locations = "file:///nonexistent/"+img.ID, nil
	rc, err := e.m.openDirect(e.ctx, &moved)
	if rc != nil || err != nil {
		t.Fatalf("openDirect of an unreadable location = %v, %v; want nil, nil (download instead)", rc, err)
	}
}
