package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/glance"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

// fakeImages is an ImageService in memory for the unit tests (the integration test in
// images_glance_test.go runs against the real Glance).
type fakeImages struct {
	mu       sync.Mutex
	images   map[string]*glance.Image
	created  []glance.CreateRequest
	deleted  []string
	auths    []glance.Auth
	err      error               // every call fails with it when set
	onCreate func(*glance.Image) // called after a create (tests change the volume meanwhile)
}

func newFakeImages() *fakeImages { return &fakeImages{images: map[string]*glance.Image{}} }

func (f *fakeImages) Show(_ context.Context, a glance.Auth, id string) (*glance.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auths = append(f.auths, a)
	if f.err != nil {
		return nil, f.err
	}
	img, ok := f.images[id]
	if !ok {
		return nil, &glance.Error{Op: "show image " + id, Status: http.StatusNotFound, Kind: glance.ErrNotFound}
	}
	c := *img
	return &c, nil
}

func (f *fakeImages) Create(_ context.Context, a glance.Auth, r glance.CreateRequest) (*glance.Image, error) {
	f.mu.Lock()
	f.auths = append(f.auths, a)
	if f.err != nil {
		f.mu.Unlock()
		return nil, f.err
	}
	f.created = append(f.created, r)
	vis := r.Visibility
	if vis == "" {
		vis = "shared"
	}
	img := &glance.Image{ID: uuid.NewString(), Name: r.Name, Status: glance.StatusQueued, DiskFormat: r.DiskFormat,
		ContainerFormat: r.ContainerFormat, Visibility: vis, Protected: r.Protected != nil && *r.Protected}
	f.images[img.ID] = img
	hook := f.onCreate
	f.mu.Unlock()
	if hook != nil {
		hook(img)
	}
	return img, nil
}

func (f *fakeImages) Delete(_ context.Context, a glance.Auth, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auths = append(f.auths, a)
	f.deleted = append(f.deleted, id)
	delete(f.images, id)
	return nil
}

func (f *fakeImages) add(img *glance.Image) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if img.ID == "" {
		img.ID = uuid.NewString()
	}
	if img.Status == "" {
		img.Status = glance.StatusActive
	}
	if img.Visibility == "" {
		img.Visibility = "public"
	}
	f.images[img.ID] = img
	return img.ID
}

func i64(n int64) *int64 { return &n }

// imagesEnv is an API on a fresh database with fake as its Image service.
func imagesEnv(t *testing.T, fake *fakeImages, configure ...func(*Options)) *env {
	t.Helper()
	return newEnv(t, append([]func(*Options){func(o *Options) { o.Images = fake }}, configure...)...)
}

// messagesOf are the outbox messages of method the API wrote.
func messagesOf(e *env, method string) []resource.OutboxMessage {
	var out []resource.OutboxMessage
	for _, m := range e.disp.got() {
		if m.Method == method {
			out = append(out, m)
		}
	}
	return out
}

const gb = int64(1) << 30

func TestCreateVolumeFromImage(t *testing.T) {
	fake := newFakeImages()
	e := imagesEnv(t, fake)
	ctx := context.Background()
	const typeID = "0f6f5c3e-2a4d-4d7e-9f3b-1c2d3e4f5a6b"
	e.addVolumeType(typeID, "gold")
	cirros := fake.add(&glance.Image{Name: "cirros", DiskFormat: "qcow2", ContainerFormat: "bare", Size: i64(gb + 1),
		VirtualSize: i64(gb + 5), MinDisk: 1, MinRAM: 64, Checksum: "abc", Owner: "p9",
		Properties: map[string]any{"hw_disk_bus": "scsi", "os_distro": "cirros", "nothing": nil}})
	typed := fake.add(&glance.Image{Name: "typed", DiskFormat: "raw", Size: i64(1024), Properties: map[string]any{"cinder_img_volume_type": "gold"}})
	queued := fake.add(&glance.Image{Status: glance.StatusQueued})
	big := fake.add(&glance.Image{Size: i64(3*gb - 1)})
	minDisk := fake.add(&glance.Image{Size: i64(1), MinDisk: 5})
	virtual := fake.add(&glance.Image{Size: i64(1), VirtualSize: i64(4*gb + 1)})
	private := fake.add(&glance.Image{Size: i64(1), Visibility: "private", Owner: "someone-else"})
	own := fake.add(&glance.Image{Size: i64(1), Visibility: "private", Owner: testProject})
	missing := uuid.NewString()
	source := e.attachableVolume(false)
	member := map[string]string{"X-Roles": "member"}

	for _, tc := range []struct {
		name    string
		version string
		header  map[string]string
		body    string
		code    int
		message string                                                               // the fault's message when code is not 202
		check   func(t *testing.T, v *resource.Volume, args rpcapi.CreateVolumeArgs) // on 202
	}{
		{name: "image", body: `{"volume": {"size": 2, "imageRef": "` + cirros + `"}}`, code: 202,
			check: func(t *testing.T, v *resource.Volume, args rpcapi.CreateVolumeArgs) {
				md, err := e.store.VolumeMetadata(ctx, resource.GlanceMetadata, v.ID)
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]string{"image_id": cirros, "image_name": "cirros", "checksum": "abc", "container_format": "bare",
					"disk_format": "qcow2", "min_disk": "1", "min_ram": "64", "size": "1073741825", "hw_disk_bus": "scsi", "os_distro": "cirros"}
				if !reflect.DeepEqual(md, want) {
					t.Errorf("image metadata\n got: %v\nwant: %v", md, want)
				}
				if v.Bootable || v.Status != resource.StatusCreating || v.VolumeTypeName != resource.DefaultVolumeTypeName {
					t.Errorf("volume %+v", v)
				}
				if args.ImageID != cirros || args.Size != 2 {
					t.Errorf("create_volume args %+v", args)
				}
			}},
		{name: "Nova's image URL, by image_id", body: `{"volume": {"size": 2, "image_id": "http://glance:9292/v2/images/` + cirros + `"}}`, code: 202},
		{name: "the image's volume type", body: `{"volume": {"size": 1, "imageRef": "` + typed + `"}}`, code: 202,
			check: func(t *testing.T, v *resource.Volume, args rpcapi.CreateVolumeArgs) {
				if v.VolumeTypeID != typeID || args.VolumeTypeID != typeID {
					t.Errorf("type %s, args %+v", v.VolumeTypeID, args)
				}
			}},
		{name: "the request's type wins", body: `{"volume": {"size": 1, "volume_type": "` + resource.DefaultVolumeTypeName + `", "imageRef": "` + typed + `"}}`, code: 202,
			check: func(t *testing.T, v *resource.Volume, _ rpcapi.CreateVolumeArgs) {
				if v.VolumeTypeID == typeID {
					t.Errorf("type %s", v.VolumeTypeID)
				}
			}},
		{name: "a member's own private image", header: member, body: `{"volume": {"size": 1, "imageRef": "` + own + `"}}`, code: 202},
		{name: "no size", body: `{"volume": {"imageRef": "` + cirros + `"}}`, code: 400,
			message: "Invalid input received: Volume size 'None' must be an integer and greater than 0"},
		{name: "no such image", body: `{"volume": {"size": 1, "imageRef": "` + missing + `"}}`, code: 400, message: msgInvalidImageRef},
		{name: "a name", body: `{"volume": {"size": 1, "imageRef": "cirros"}}`, code: 400, message: msgInvalidImageRef},
		{name: "empty", body: `{"volume": {"size": 1, "imageRef": ""}}`, code: 400, message: msgInvalidImageRef},
		{name: "null is no image", body: `{"volume": {"size": 1, "imageRef": null}}`, code: 202,
			check: func(t *testing.T, v *resource.Volume, args rpcapi.CreateVolumeArgs) {
				if args.ImageID != "" {
					t.Errorf("args %+v", args)
				}
			}},
		{name: "another project's private image, no user token", header: member, body: `{"volume": {"size": 1, "imageRef": "` + private + `"}}`, code: 400, message: msgInvalidImageRef},
		{name: "not active", body: `{"volume": {"size": 1, "imageRef": "` + queued + `"}}`, code: 400,
			message: "Invalid input received: Image " + queued + " is not active."},
		{name: "bigger than the volume", body: `{"volume": {"size": 2, "imageRef": "` + big + `"}}`, code: 400,
			message: "Invalid input received: Size of specified image 3GB is larger than volume size 2GB."},
		{name: "min_disk", body: `{"volume": {"size": 4, "imageRef": "` + minDisk + `"}}`, code: 400,
			message: "Invalid input received: Volume size 4GB cannot be smaller than the image minDisk size 5GB."},
		{name: "virtual size", body: `{"volume": {"size": 4, "imageRef": "` + virtual + `"}}`, code: 400,
			message: "Image " + virtual + " is unacceptable: Image virtual size is 5GB and doesn't fit in a volume of size 4GB."},
		{name: "image and a missing source volume", body: `{"volume": {"size": 1, "imageRef": "` + cirros + `", "snapshot_id": null, "source_volid": "` + missing + `"}}`, code: 404,
			message: "Volume " + missing + " could not be found."},
		{name: "image and a source volume", body: `{"volume": {"size": 1, "imageRef": "` + cirros + `", "source_volid": "` + source + `"}}`, code: 400,
			message: "Invalid input received: " + msgExclusiveSources},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.volumes())
			rec := e.do(call{method: "POST", path: "/v3/p1/volumes", version: tc.version, header: tc.header, body: tc.body})
			if tc.code != http.StatusAccepted {
				wantFault(t, rec, tc.code, faultNameOf(tc.code), tc.message)
				if n := len(e.volumes()); n != before {
					t.Errorf("%d volumes after a refused create, want %d", n, before)
				}
				return
			}
			wantStatus(t, rec, http.StatusAccepted)
			id := str(t, obj(t, rec), "volume", "id")
			var args rpcapi.CreateVolumeArgs
			for _, m := range messagesOf(e, rpcapi.CreateVolume) {
				var a rpcapi.CreateVolumeArgs
				if err := json.Unmarshal(m.Args, &a); err != nil {
					t.Fatal(err)
				}
				if a.VolumeID == id {
					args = a
				}
			}
			if args.VolumeID != id {
				t.Fatalf("no create_volume message for %s", id)
			}
			if tc.check != nil {
				tc.check(t, e.volume(id), args)
			}
		})
	}

	// Every call carried the request id as the global request id.
	fake.mu.Lock()
	for _, a := range fake.auths {
		if !strings.HasPrefix(a.GlobalRequestID, "req-") || a.Token != "" {
			t.Errorf("glance auth %+v: want the request id and no token (noauth, no service token)", a)
		}
	}
	fake.mu.Unlock()
}

func faultNameOf(code int) string {
	switch code {
	case 400:
		return "badRequest"
	case 403:
		return "forbidden"
	case 404:
		return "itemNotFound"
	case 409:
		return "conflictingRequest"
	case 413:
		return "overLimit"
	case 503:
		return "serviceUnavailable"
	}
	return "computeFault"
}

// TestCreateVolumeFromImageRefusals: the refusals that need an API of their own.
func TestCreateVolumeFromImageRefusals(t *testing.T) {
	ctx := context.Background()
	t.Run("glance unreachable: 503, nothing written", func(t *testing.T) {
		fake := newFakeImages()
		fake.err = &glance.Error{Op: "show image x", Kind: glance.ErrUnavailable, Err: errors.New("dial tcp 127.0.0.1:9292: connect: connection refused")}
		e := imagesEnv(t, fake)
		rec := e.do(call{method: "POST", path: "/v3/p1/volumes", body: `{"volume": {"size": 1, "imageRef": "` + uuid.NewString() + `"}}`})
		wantFault(t, rec, 503, "serviceUnavailable", "Connection to glance failed: dial tcp 127.0.0.1:9292: connect: connection refused")
		if n := len(e.volumes()); n != 0 {
			t.Errorf("%d volumes written", n)
		}
	})
	t.Run("no image service", func(t *testing.T) {
		e := newEnv(t)
		rec := e.do(call{method: "POST", path: "/v3/p1/volumes", body: `{"volume": {"size": 1, "imageRef": "` + uuid.NewString() + `"}}`})
		wantFault(t, rec, 400, "badRequest", "Creating a volume from an image (imageRef) needs the Image service (Glance), which this Scoria API is not configured with.")
	})
	t.Run("service token when the request has none", func(t *testing.T) {
		fake := newFakeImages()
		id := fake.add(&glance.Image{Size: i64(1)})
		e := imagesEnv(t, fake, func(o *Options) {
			o.ImageServiceToken = func(context.Context) (string, error) { return "service-token", nil }
		})
		wantStatus(t, e.do(call{method: "POST", path: "/v3/p1/volumes", body: `{"volume": {"size": 1, "imageRef": "` + id + `"}}`}), http.StatusAccepted)
		if a := fake.auths[0]; a.Token != "service-token" {
			t.Errorf("auth %+v", a)
		}
	})
	t.Run("encrypted type", func(t *testing.T) {
		fake := newFakeImages()
		id := fake.add(&glance.Image{Size: i64(1)})
		e := imagesEnv(t, fake)
		const typeID = "1a2b3c4d-0000-4000-8000-000000000001"
		e.addVolumeType(typeID, "luks")
		cipher, size := "aes-xts-plain64", 256
		if err := e.store.CreateVolumeTypeEncryption(ctx, &resource.Encryption{VolumeTypeID: typeID, Provider: "luks", Cipher: &cipher, KeySize: &size, ControlLocation: "front-end"}); err != nil {
			t.Fatal(err)
		}
		rec := e.do(call{method: "POST", path: "/v3/p1/volumes", body: `{"volume": {"size": 1, "volume_type": "luks", "imageRef": "` + id + `"}}`})
		wantFault(t, rec, 400, "badRequest", "Creating a volume of the encrypted volume type luks from an image is not supported by Scoria yet.")
	})
	t.Run("Nova snapshot image", func(t *testing.T) {
		fake := newFakeImages()
		e := imagesEnv(t, fake)
		vol := e.attachableVolume(false)
		rec := e.do(call{method: "POST", path: "/v3/p1/snapshots", body: `{"snapshot": {"volume_id": "` + vol + `"}}`})
		wantStatus(t, rec, http.StatusAccepted)
		snap := str(t, obj(t, rec), "snapshot", "id")
		if _, err := e.raw.Exec(`UPDATE snapshots SET status = 'available' WHERE id = ?`, snap); err != nil {
			t.Fatal(err)
		}
		bdm := `[{"source_type": "snapshot", "boot_index": 0, "snapshot_id": "` + snap + `", "volume_size": 1}]`
		nova := fake.add(&glance.Image{Size: i64(0), Properties: map[string]any{"block_device_mapping": bdm}})
		gone := fake.add(&glance.Image{Size: i64(0), Properties: map[string]any{"block_device_mapping": strings.ReplaceAll(bdm, snap, vol)}})

		rec = e.do(call{method: "POST", path: "/v3/p1/volumes", version: "volume 3.46", body: `{"volume": {"imageRef": "` + nova + `"}}`})
		wantStatus(t, rec, http.StatusAccepted)
		v := e.volume(str(t, obj(t, rec), "volume", "id"))
		if v.SnapshotID != snap || v.Size != 1 {
			t.Errorf("3.46: volume %+v, want one made from snapshot %s", v, snap)
		}
		rec = e.do(call{method: "POST", path: "/v3/p1/volumes", version: "volume 3.45", body: `{"volume": {"size": 1, "imageRef": "` + nova + `"}}`})
		wantStatus(t, rec, http.StatusAccepted)
		if v := e.volume(str(t, obj(t, rec), "volume", "id")); v.SnapshotID != "" {
			t.Errorf("3.45: volume %+v, want one made from the image", v)
		}
		rec = e.do(call{method: "POST", path: "/v3/p1/volumes", version: "volume 3.46", body: `{"volume": {"imageRef": "` + gone + `"}}`})
		wantFault(t, rec, 404, "itemNotFound", "Nova specific image is found, but boot volume snapshot id:"+vol+" not found.")
	})
}

// uploadEnv is an API with fake as its Image service and an available volume with image
// metadata on host attachHost.
func uploadEnv(t *testing.T, fake *fakeImages, configure ...func(*Options)) (*env, string) {
	t.Helper()
	e := imagesEnv(t, fake, configure...)
	vol := e.attachableVolume(false)
	if _, err := e.store.UpdateVolumeMetadata(context.Background(), resource.GlanceMetadata, vol,
		map[string]string{"image_id": "old", "image_name": "cirros", "size": "1", "checksum": "x", "hw_disk_bus": "scsi",
			"os_glance_importing_to_stores": "file", "img_signature": "sig", "os_distro": "cirros"}, true, resource.VolumeStatusRule{}); err != nil {
		t.Fatal(err)
	}
	return e, vol
}

func TestUploadImage(t *testing.T) {
	ctx := context.Background()
	action := func(vol string) string { return "/v3/p1/volumes/" + vol + "/action" }
	t.Run("available volume", func(t *testing.T) {
		fake := newFakeImages()
		e, vol := uploadEnv(t, fake)
		rec := e.do(call{method: "POST", path: action(vol), version: "volume 3.1",
			body: `{"os-volume_upload_image": {"image_name": "backup-img", "disk_format": "qcow2", "force": "false", "protected": true}}`})
		wantStatus(t, rec, http.StatusAccepted)
		body := obj(t, rec)
		up := member(t, body, "os-volume_upload_image")
		got := keysOf(t, up)
		sort.Strings(got)
		sameKeys(t, "upload", got, []string{"container_format", "disk_format", "display_description", "id", "image_id", "image_name",
			"protected", "size", "status", "updated_at", "visibility", "volume_type"})
		imageID := str(t, up, "image_id")
		for k, want := range map[string]any{"id": vol, "status": "uploading", "disk_format": "qcow2", "container_format": "bare",
			"image_name": "backup-img", "visibility": "private", "protected": true, "display_description": nil} {
			if g := member(t, up, k); g != want {
				t.Errorf("%s = %v, want %v", k, g, want)
			}
		}
		if n := str(t, up, "volume_type", "name"); n != resource.DefaultVolumeTypeName {
			t.Errorf("volume_type name %q", n)
		}
		cr := fake.created[0]
		wantProps := map[string]string{"hw_disk_bus": "scsi", "os_distro": "cirros"}
		if cr.Name != "backup-img" || cr.DiskFormat != "qcow2" || cr.ContainerFormat != "bare" || cr.Visibility != "private" ||
			cr.Protected == nil || !*cr.Protected || !reflect.DeepEqual(cr.Properties, wantProps) {
			t.Errorf("image create %+v", cr)
		}
		if v := e.volume(vol); v.Status != resource.StatusUploading {
			t.Errorf("volume status %s", v.Status)
		}
		am, err := e.store.VolumeMetadata(ctx, resource.AdminMetadata, vol)
		if err != nil {
			t.Fatal(err)
		}
		if am[resource.AdminKeyUploadImage] != imageID {
			t.Errorf("admin metadata %v, want %s = %s", am, resource.AdminKeyUploadImage, imageID)
		}
		msgs := messagesOf(e, rpcapi.CopyVolumeToImage)
		if len(msgs) != 1 || msgs[0].Server != attachHost+"#file" && msgs[0].Server != attachHost {
			t.Fatalf("copy_volume_to_image messages %+v", msgs)
		}
		var args rpcapi.CopyVolumeToImageArgs
		if err := json.Unmarshal(msgs[0].Args, &args); err != nil {
			t.Fatal(err)
		}
		want := rpcapi.CopyVolumeToImageArgs{VolumeID: vol, ImageID: imageID, DiskFormat: "qcow2", ContainerFormat: "bare", PreviousStatus: "available"}
		if args != want {
			t.Errorf("args %+v, want %+v", args, want)
		}
		// A second upload finds the volume uploading.
		rec = e.do(call{method: "POST", path: action(vol), body: `{"os-volume_upload_image": {"image_name": "again"}}`})
		wantFault(t, rec, 400, "badRequest", "Invalid volume: Volume "+vol+" status must be available")
	})
	t.Run("before 3.1: Glance's visibility, raw/bare by default", func(t *testing.T) {
		fake := newFakeImages()
		e, vol := uploadEnv(t, fake)
		rec := e.do(call{method: "POST", path: action(vol), body: `{"os-volume_upload_image": {"image_name": "i"}}`})
		wantStatus(t, rec, http.StatusAccepted)
		if cr := fake.created[0]; cr.Visibility != "" || cr.Protected != nil || cr.DiskFormat != "raw" || cr.ContainerFormat != "bare" {
			t.Errorf("image create %+v", cr)
		}
		if got := member(t, obj(t, rec), "os-volume_upload_image", "visibility"); got != "shared" {
			t.Errorf("visibility %v", got)
		}
	})
	t.Run("the status changed while the image was made: image deleted", func(t *testing.T) {
		fake := newFakeImages()
		e, vol := uploadEnv(t, fake)
		fake.onCreate = func(*glance.Image) {
			if _, err := e.store.TransitionVolume(ctx, vol, []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusError}); err != nil {
				t.Error(err)
			}
		}
		rec := e.do(call{method: "POST", path: action(vol), body: `{"os-volume_upload_image": {"image_name": "i"}}`})
		wantFault(t, rec, 400, "badRequest", "Invalid volume: Volume "+vol+" status must be available")
		if len(fake.created) != 1 || len(fake.deleted) != 1 || len(fake.images) != 0 {
			t.Errorf("created %d, deleted %v, left %d", len(fake.created), fake.deleted, len(fake.images))
		}
		if n := len(messagesOf(e, rpcapi.CopyVolumeToImage)); n != 0 {
			t.Errorf("%d messages", n)
		}
	})
	t.Run("in-use", func(t *testing.T) {
		for _, tc := range []struct {
			name        string
			enable      bool
			force       string
			code        int
			wantMessage string
		}{
			{"without force", true, "false", 400, "Invalid volume: Volume %s status must be available"},
			{"force, but enable_force_upload false", false, "true", 400, "Invalid volume: Volume %s status must be available"},
			{"force and enable_force_upload", true, "true", 202, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				fake := newFakeImages()
				e, vol := uploadEnv(t, fake, func(o *Options) { o.EnableForceUpload = tc.enable })
				if _, err := e.store.TransitionVolume(ctx, vol, []string{resource.StatusAvailable}, resource.VolumeChange{Status: resource.StatusInUse}); err != nil {
					t.Fatal(err)
				}
				rec := e.do(call{method: "POST", path: action(vol), body: `{"os-volume_upload_image": {"image_name": "i", "force": ` + tc.force + `}}`})
				if tc.code != 202 {
					wantFault(t, rec, tc.code, "badRequest", strings.ReplaceAll(tc.wantMessage, "%s", vol))
					if len(fake.created) != 0 {
						t.Errorf("an image was created")
					}
					return
				}
				wantStatus(t, rec, 202)
				var args rpcapi.CopyVolumeToImageArgs
				if err := json.Unmarshal(messagesOf(e, rpcapi.CopyVolumeToImage)[0].Args, &args); err != nil {
					t.Fatal(err)
				}
				if args.PreviousStatus != resource.StatusInUse {
					t.Errorf("args %+v", args)
				}
			})
		}
	})
	t.Run("refusals", func(t *testing.T) {
		fake := newFakeImages()
		e, vol := uploadEnv(t, fake)
		member := map[string]string{"X-Roles": "member"}
		for _, tc := range []struct {
			name, version, body string
			header              map[string]string
			code                int
			message             string
		}{
			{"no image_name", "", `{"os-volume_upload_image": {"force": true}}`, nil, 400,
				"Invalid input for field/attribute os-volume_upload_image. Value: {'force': True}. 'image_name' is a required property"},
			{"empty image_name", "", `{"os-volume_upload_image": {"image_name": ""}}`, nil, 400,
				"Invalid input for field/attribute image_name. Value: . '' is too short"},
			{"bad disk_format", "", `{"os-volume_upload_image": {"image_name": "i", "disk_format": "iso"}}`, nil, 400,
				"Invalid input for field/attribute disk_format. Value: iso. 'iso' is not one of ['raw', 'vmdk', 'vdi', 'qcow2', 'vhd', 'vhdx', 'ploop']"},
			{"bad force", "", `{"os-volume_upload_image": {"image_name": "i", "force": "maybe"}}`, nil, 400,
				"Invalid input for field/attribute force. Value: maybe. 'maybe' is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', 'y', 't', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no', 'n', 'f']"},
			{"visibility before 3.1", "", `{"os-volume_upload_image": {"image_name": "i", "visibility": "private"}}`, nil, 400,
				"Invalid input for field/attribute os-volume_upload_image. Value: {'image_name': 'i', 'visibility': 'private'}. Additional properties are not allowed ('visibility' was unexpected)"},
			{"bad visibility", "volume 3.1", `{"os-volume_upload_image": {"image_name": "i", "visibility": "everyone"}}`, nil, 400,
				"Invalid input for field/attribute visibility. Value: everyone. 'everyone' is not one of ['community', 'public', 'private', 'shared']"},
			{"public by a member", "volume 3.1", `{"os-volume_upload_image": {"image_name": "i", "visibility": "public"}}`, member, 403,
				"Policy doesn't allow volume_extension:volume_actions:upload_public to be performed."},
			{"compressed", "", `{"os-volume_upload_image": {"image_name": "i", "container_format": "compressed"}}`, nil, 400, msgCompressedUpload},
			{"no such volume", "", `{"os-volume_upload_image": {"image_name": "i"}}`, nil, 404, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				path := action(vol)
				if tc.code == 404 {
					missing := uuid.NewString()
					path, tc.message = action(missing), "Volume "+missing+" could not be found."
				}
				rec := e.do(call{method: "POST", path: path, version: tc.version, header: tc.header, body: tc.body})
				wantFault(t, rec, tc.code, faultNameOf(tc.code), tc.message)
			})
		}
		if len(fake.created) != 0 {
			t.Errorf("images created: %+v", fake.created)
		}
		if v := e.volume(vol); v.Status != resource.StatusAvailable {
			t.Errorf("volume %s", v.Status)
		}
	})
	t.Run("glance unavailable: 503, volume untouched", func(t *testing.T) {
		fake := newFakeImages()
		e, vol := uploadEnv(t, fake)
		fake.err = &glance.Error{Op: "create image", Status: 503, Kind: glance.ErrUnavailable}
		rec := e.do(call{method: "POST", path: action(vol), body: `{"os-volume_upload_image": {"image_name": "i"}}`})
		wantFault(t, rec, 503, "serviceUnavailable", "Connection to glance failed: Service Unavailable")
		if v := e.volume(vol); v.Status != resource.StatusAvailable {
			t.Errorf("volume %s", v.Status)
		}
	})
	t.Run("encrypted volume", func(t *testing.T) {
		fake := newFakeImages()
		e := imagesEnv(t, fake)
		v := &resource.Volume{ProjectID: testProject, UserID: testUser, Size: 1, Status: resource.StatusAvailable,
			AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", VolumeTypeID: db.DefaultVolumeTypeID,
			Host: attachHost + "#file", EncryptionKeyID: uuid.NewString()}
		if _, err := e.store.CreateVolume(ctx, v); err != nil {
			t.Fatal(err)
		}
		rec := e.do(call{method: "POST", path: action(v.ID), body: `{"os-volume_upload_image": {"image_name": "i", "disk_format": "qcow2"}}`})
		wantFault(t, rec, 400, "badRequest", msgEncryptedUpload)
		rec = e.do(call{method: "POST", path: action(v.ID), body: `{"os-volume_upload_image": {"image_name": "i"}}`})
		wantFault(t, rec, 400, "badRequest", "Uploading an encrypted volume to an image (os-volume_upload_image) is not supported by Scoria yet.")
	})
}

func TestReimage(t *testing.T) {
	ctx := context.Background()
	fake := newFakeImages()
	e := imagesEnv(t, fake)
	img := fake.add(&glance.Image{Size: i64(gb / 2)})
	big := fake.add(&glance.Image{Size: i64(2 * gb)})
	missing := uuid.NewString()
	action := func(vol string) string { return "/v3/p1/volumes/" + vol + "/action" }
	withStatus := func(status string) string {
		vol := e.attachableVolume(false)
		if status != resource.StatusAvailable {
			if _, err := e.store.TransitionVolume(ctx, vol, []string{resource.StatusAvailable}, resource.VolumeChange{Status: status}); err != nil {
				t.Fatal(err)
			}
		}
		return vol
	}
	for _, tc := range []struct {
		name, status, version, body string
		code                        int
		message                     string // %s: the volume's id
	}{
		{"available", "available", "3.68", `{"os-reimage": {"image_id": "` + img + `"}}`, 202, ""},
		{"error", "error", "3.68", `{"os-reimage": {"image_id": "` + img + `", "reimage_reserved": false}}`, 202, ""},
		{"reserved with reimage_reserved", "reserved", "3.68", `{"os-reimage": {"image_id": "` + img + `", "reimage_reserved": "true"}}`, 202, ""},
		{"reserved", "reserved", "3.68", `{"os-reimage": {"image_id": "` + img + `"}}`, 400,
			"Invalid volume: Volume %s status must be available or error, but current status is reserved."},
		{"in-use", "in-use", "3.68", `{"os-reimage": {"image_id": "` + img + `", "reimage_reserved": true}}`, 400,
			"Invalid volume: Volume %s status must be available or error or reserved, but current status is in-use."},
		{"before 3.68", "available", "3.67", `{"os-reimage": {"image_id": "` + img + `"}}`, 404, "The resource could not be found."},
		{"no such image", "available", "3.68", `{"os-reimage": {"image_id": "` + missing + `"}}`, 404, "Image " + missing + " could not be found."},
		{"image too big", "available", "3.68", `{"os-reimage": {"image_id": "` + big + `"}}`, 400,
			"Invalid input received: Size of specified image 2GB is larger than volume size 1GB."},
		{"not a uuid", "available", "3.68", `{"os-reimage": {"image_id": "cirros"}}`, 400,
			"Invalid input for field/attribute image_id. Value: cirros. 'cirros' is not a 'uuid'"},
		{"no image_id", "available", "3.68", `{"os-reimage": {}}`, 400,
			"Invalid input for field/attribute os-reimage. Value: {}. 'image_id' is a required property"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vol := withStatus(tc.status)
			rec := e.do(call{method: "POST", path: action(vol), version: "volume " + tc.version, body: tc.body})
			if tc.code != 202 {
				wantFault(t, rec, tc.code, faultNameOf(tc.code), strings.ReplaceAll(tc.message, "%s", vol))
				if v := e.volume(vol); v.Status != tc.status {
					t.Errorf("volume %s after a refusal, want %s", v.Status, tc.status)
				}
				return
			}
			wantStatus(t, rec, 202)
			if v := e.volume(vol); v.Status != resource.StatusDownloading {
				t.Errorf("volume %s, want downloading", v.Status)
			}
			var found bool
			for _, m := range messagesOf(e, rpcapi.ReimageVolume) {
				var args rpcapi.ReimageArgs
				if err := json.Unmarshal(m.Args, &args); err != nil {
					t.Fatal(err)
				}
				if args.VolumeID == vol {
					found = true
					if want := (rpcapi.ReimageArgs{VolumeID: vol, ImageID: img, PreviousStatus: tc.status}); args != want {
						t.Errorf("args %+v, want %+v", args, want)
					}
				}
			}
			if !found {
				t.Errorf("no reimage message for %s", vol)
			}
		})
	}
}

func TestNovaBootSnapshot(t *testing.T) {
	for _, tc := range []struct {
		name string
		bdm  any
		want bootSnapshot
		ok   bool
	}{
		{"none", nil, bootSnapshot{}, false},
		{"string", `[{"source_type": "volume", "boot_index": 0}, {"source_type": "snapshot", "boot_index": 0, "snapshot_id": "s", "volume_size": 3}]`, bootSnapshot{"s", 3}, true},
		{"not the boot disk", `[{"source_type": "snapshot", "boot_index": 1, "snapshot_id": "s"}]`, bootSnapshot{}, false},
		{"list", []any{map[string]any{"source_type": "snapshot", "boot_index": float64(0), "snapshot_id": "t"}}, bootSnapshot{"t", 0}, true},
		{"garbage", `[{`, bootSnapshot{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := &glance.Image{Properties: map[string]any{}}
			if tc.bdm != nil {
				img.Properties["block_device_mapping"] = tc.bdm
			}
			got, ok := novaBootSnapshot(img)
			if got != tc.want || ok != tc.ok {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestUploadProperties(t *testing.T) {
	md := map[string]string{"image_id": "i", "size": "1", "hw_disk_bus": "scsi", "name": "n", "os_glance_x": "y", "signature_verified": "t", "visibility": "public"}
	for _, tc := range []struct {
		name  string
		core  []string
		taken []string
		want  map[string]string
	}{
		{"defaults", []string{"image_id", "size", "name"}, []string{"visibility"}, map[string]string{"hw_disk_bus": "scsi"}},
		{"no core properties: nothing copied", []string{}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := uploadProperties(md, tc.core, tc.taken...); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
