package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/glance"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

// testGlanceURL is the real Glance of deploy/glance/glance-up.sh: SCORIA_TEST_GLANCE_URL, or
// its env file ($GLANCE_DIR/env, default /tmp/scoria-glance/env). Without it the test
// skips, or fails under CI=true.
func testGlanceURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("SCORIA_TEST_GLANCE_URL")
	if u == "" {
		dir := envOr("GLANCE_DIR", "/tmp/scoria-glance")
		if f, err := os.Open(filepath.Join(dir, "env")); err == nil {
			s := bufio.NewScanner(f)
			for s.Scan() {
				if v, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "SCORIA_TEST_GLANCE_URL="); ok {
					u = v
				}
			}
			f.Close()
		}
	}
	if u == "" {
		u = "http://127.0.0.1:9292"
	}
	requireTestService(t, "Glance", u)
	return u
}

// TestImagesRealGlance drives the API with Keystone tokens against the real Glance (and the
// real Keystone): a volume made from a real image carries its metadata and the image id in
// its create_volume message; a missing image and an image without data are refused; an upload
// creates a real queued image with the volume's image properties, and the volume is uploading
// with its copy_volume_to_image message written.
func TestImagesRealGlance(t *testing.T) {
	requireTestService(t, "Keystone", testKeystoneURL())
	gURL := testGlanceURL(t)
	gc, err := glance.New(glance.Config{APIServers: []string{gURL}, RequestTimeout: 30 * time.Second, NumRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	v := keystoneValidator(t, testKeystoneURL())
	e := newEnv(t, withKeystone(v), func(o *Options) { o.Images = gc })
	alice := login(t, v, "alice", "alice-secret", "demo-a")
	a := glance.Auth{Token: alice.token}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cleanup := func(id string) {
		t.Cleanup(func() {
			if err := gc.Delete(context.Background(), a, id); err != nil && !errors.Is(err, glance.ErrNotFound) {
				t.Errorf("clean-up of image %s: %v", id, err)
			}
		})
	}

	// A real raw image of 3 MiB with a property.
	img, err := gc.Create(ctx, a, glance.CreateRequest{Name: "scoria-api-test", DiskFormat: "raw", ContainerFormat: "bare",
		Visibility: "private", MinDisk: 1, Properties: map[string]string{"os_distro": "scoria", "hw_disk_bus": "scsi"}})
	if err != nil {
		t.Fatal(err)
	}
	cleanup(img.ID)
	data := bytes.Repeat([]byte{0x5c}, 3<<20)
	if err := gc.Upload(ctx, a, img.ID, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	queued, err := gc.Create(ctx, a, glance.CreateRequest{Name: "scoria-api-test-empty", DiskFormat: "raw", ContainerFormat: "bare", Visibility: "private"})
	if err != nil {
		t.Fatal(err)
	}
	cleanup(queued.ID)

	path := "/v3/" + alice.project + "/volumes"
	t.Run("create from the image", func(t *testing.T) {
		rec := e.do(call{method: "POST", path: path, token: alice.token, body: `{"volume": {"size": 1, "name": "from-image", "imageRef": "` + img.ID + `"}}`})
		wantStatus(t, rec, http.StatusAccepted)
		id := str(t, obj(t, rec), "volume", "id")
		vol := e.volume(id)
		if vol.Status != resource.StatusCreating || vol.Bootable {
			t.Errorf("volume %+v", vol)
		}
		md, err := e.store.VolumeMetadata(ctx, resource.GlanceMetadata, id)
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]string{"image_id": img.ID, "image_name": "scoria-api-test", "disk_format": "raw",
			"container_format": "bare", "min_disk": "1", "size": "3145728", "os_distro": "scoria", "hw_disk_bus": "scsi"} {
			if md[k] != want {
				t.Errorf("image metadata %s = %q, want %q (all: %v)", k, md[k], want, md)
			}
		}
		if md["checksum"] == "" {
			t.Errorf("no checksum in %v", md)
		}
		var args rpcapi.CreateVolumeArgs
		for _, m := range messagesOf(e, rpcapi.CreateVolume) {
			if err := json.Unmarshal(m.Args, &args); err != nil {
				t.Fatal(err)
			}
		}
		if args.VolumeID != id || args.ImageID != img.ID {
			t.Errorf("create_volume args %+v", args)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		for _, tc := range []struct {
			name, body, message string
		}{
			{"no such image", `{"volume": {"size": 1, "imageRef": "` + "00000000-0000-4000-8000-000000000000" + `"}}`, msgInvalidImageRef},
			{"image without data", `{"volume": {"size": 1, "imageRef": "` + queued.ID + `"}}`, "Invalid input received: Image " + queued.ID + " is not active."},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantFault(t, e.do(call{method: "POST", path: path, token: alice.token, body: tc.body}), 400, "badRequest", tc.message)
			})
		}
	})
	t.Run("upload to image", func(t *testing.T) {
		vol := &resource.Volume{ProjectID: alice.project, UserID: "alice", Size: 1, Status: resource.StatusAvailable,
			AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", VolumeTypeID: db.DefaultVolumeTypeID,
			Host: "node@file#file", ImageMetadata: map[string]string{"image_id": img.ID, "image_name": "x", "os_distro": "scoria"}}
		if _, err := e.store.CreateVolume(ctx, vol); err != nil {
			t.Fatal(err)
		}
		rec := e.do(call{method: "POST", path: path + "/" + vol.ID + "/action", token: alice.token, version: "volume 3.1",
			body: `{"os-volume_upload_image": {"image_name": "scoria-api-upload", "disk_format": "qcow2"}}`})
		wantStatus(t, rec, http.StatusAccepted)
		imageID := str(t, obj(t, rec), "os-volume_upload_image", "image_id")
		cleanup(imageID)
		got, err := gc.Show(ctx, a, imageID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != glance.StatusQueued || got.Name != "scoria-api-upload" || got.DiskFormat != "qcow2" || got.ContainerFormat != "bare" ||
			got.Visibility != "private" || got.Protected || got.Properties["os_distro"] != "scoria" || got.Properties["image_id"] != nil {
			t.Errorf("image in Glance %+v", got)
		}
		if s := e.volume(vol.ID).Status; s != resource.StatusUploading {
			t.Errorf("volume %s", s)
		}
		am, err := e.store.VolumeMetadata(ctx, resource.AdminMetadata, vol.ID)
		if err != nil {
			t.Fatal(err)
		}
		if am[resource.AdminKeyUploadImage] != imageID {
			t.Errorf("admin metadata %v", am)
		}
		msgs := messagesOf(e, rpcapi.CopyVolumeToImage)
		if len(msgs) != 1 {
			t.Fatalf("%d copy_volume_to_image messages", len(msgs))
		}
		var args rpcapi.CopyVolumeToImageArgs
		if err := json.Unmarshal(msgs[0].Args, &args); err != nil {
			t.Fatal(err)
		}
		if args != (rpcapi.CopyVolumeToImageArgs{VolumeID: vol.ID, ImageID: imageID, DiskFormat: "qcow2", ContainerFormat: "bare", PreviousStatus: "available"}) {
			t.Errorf("args %+v", args)
		}
		// Glance refuses a container format it does not know: 400 with its reason, no image left.
		other := &resource.Volume{ProjectID: alice.project, UserID: "alice", Size: 1, Status: resource.StatusAvailable,
			AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", VolumeTypeID: db.DefaultVolumeTypeID, Host: "node@file#file"}
		if _, err := e.store.CreateVolume(ctx, other); err != nil {
			t.Fatal(err)
		}
		rec = e.do(call{method: "POST", path: path + "/" + other.ID + "/action", token: alice.token,
			body: `{"os-volume_upload_image": {"image_name": "scoria-api-bad", "container_format": "crate"}}`})
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "Glance refused to create the image") {
			t.Errorf("bad container format: %d %s", rec.Code, rec.Body)
		}
		if s := e.volume(other.ID).Status; s != resource.StatusAvailable {
			t.Errorf("volume after a refused upload: %s", s)
		}
	})
}
