package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
)

// Issue 17 end to end: volumes made from Glance images and uploaded to Glance, with the real
// cinder, openstack and glance CLIs and gophercloud, on a cluster with auth_strategy =
// keystone and the real test Glance (deploy/glance). See images_glance_test.go for Glance and
// the proxy that stands in for Glance dying, images_env_test.go for the cluster.

// imageProps are the properties of the test images, copied by Cinder into a volume's
// volume_image_metadata and from there into the images uploaded from the volume.
var imageProps = map[string]any{"hw_disk_bus": "scsi", "os_distro": "cirros"}

// TestImagesCinderCLI: on the local-file backend, volumes from a qcow2 and a raw image
// (cinder create --image, openstack volume create --image, gophercloud) are bootable, carry
// the images' metadata and hold the images' bytes; bad images are refused as Cinder refuses
// them; volumes uploaded to Glance (cinder upload-to-image raw and qcow2, gophercloud) come
// back byte for byte and with the volume's image properties.
func TestImagesCinderCLI(t *testing.T) {
	requireServers(t)
	e0 := startImageEnv(t, "", nil)
	e := e0
	files := makeImageFiles(t, false)
	tag := randomTag(t)
	qcowID := e.glance.image("e2e-qcow2-"+tag, "qcow2", files.qcow2, "file", imageProps)
	rawID := e.glance.image("e2e-raw-"+tag, "raw", files.raw, "file", imageProps)
	imageFile := map[string]struct{ path, format string }{qcowID: {files.qcow2, "qcow2"}, rawID: {files.raw, "raw"}}
	var made []string // alice's volumes, deleted at the end

	// checkFromImage checks volume id made from image: bootable, its volume_image_metadata,
	// and the image's bytes in its file.
	checkFromImage := func(t *testing.T, id, imageID string) {
		t.Helper()
		e := e0.with(t)
		v := e.volume(id)
		img := e.glance.show(imageID)
		if v.Bootable != "true" {
			t.Errorf("volume %s from image %s: bootable %q, want true", id, imageID, v.Bootable)
		}
		want := map[string]string{
			"image_id": imageID, "image_name": img.str("name"), "disk_format": img.str("disk_format"),
			"container_format": "bare", "checksum": img.str("checksum"), "size": img.str("size"),
			"hw_disk_bus": "scsi", "os_distro": "cirros",
		}
		for k, w := range want {
			if got, ok := v.VolumeImageMetadata[k]; !ok || got != w {
				t.Errorf("volume %s: volume_image_metadata[%s] = %q (present %v), want %q; all: %v", id, k, got, ok, w, v.VolumeImageMetadata)
			}
		}
		f := imageFile[imageID]
		qemuCompare(t, "volume "+id+" against image "+imageID, f.path, f.format, e.volumeFile(id), "raw")
	}

	t.Run("cinder create --image", func(t *testing.T) {
		e := e0.with(t)
		for _, imageID := range []string{qcowID, rawID} {
			format := imageFile[imageID].format
			out := e.must("cinder", "create", "--image", imageID, "--name", "from-"+format, "1")
			id := parseProperties(out)["id"]
			if !uuidRE.MatchString(id) {
				t.Fatalf("cinder create --image: no id in\n%s", out)
			}
			made = append(made, id)
			seen := e.waitStatus(id, 2*time.Minute, "available")
			t.Logf("volume from the %s image: statuses %v", format, seen)
			checkFromImage(t, id, imageID)
			shown := parseProperties(e.must("cinder", "show", id))
			if shown["bootable"] != "true" || !strings.Contains(shown["volume_image_metadata"], imageID) ||
				!strings.Contains(shown["volume_image_metadata"], "cirros") {
				t.Errorf("cinder show %s: bootable %q, volume_image_metadata %q", id, shown["bootable"], shown["volume_image_metadata"])
			}
		}
	})

	t.Run("refused images", func(t *testing.T) {
		e := e0.with(t)
		minDisk := e.glance.image("e2e-min-disk-"+tag, "raw", files.raw, "file", map[string]any{"min_disk": 2})
		inactive := e.glance.image("e2e-deactivated-"+tag, "raw", files.raw, "file", nil)
		e.must("glance", "image-deactivate", inactive)
		if s := e.glance.show(inactive).str("status"); s != "deactivated" {
			t.Fatalf("glance image-deactivate: status %q", s)
		}
		before := countVolumes(t, e)
		for _, tc := range []struct {
			name, image string
			want        []string // all in the CLI's error
			codes       []string // one of them in the CLI's error
			anyOf       []string // one of them in the CLI's error, when given
		}{
			{"min_disk above the size", minDisk, []string{"Volume size 1GB cannot be smaller than the image minDisk size 2GB."}, []string{"HTTP 400"}, nil},
			{"deactivated", inactive, []string{"Image " + inactive + " is not active."}, []string{"HTTP 400"}, nil},
			// Cinder looks an id up, then a name, then answers 400.
			{"no such image id", "0b5e5d6c-62a4-4b47-9b4c-7c1c3c1cdead", nil, []string{"HTTP 400", "HTTP 404"},
				[]string{"Invalid image identifier or unable to access requested image.", "could not be found"}},
			{"no such image name", "no-such-image-" + tag, []string{"Invalid image identifier or unable to access requested image."}, []string{"HTTP 400"}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				out, err := e.cli("cinder", ksAlice, "create", "--image", tc.image, "--name", "refused", "1")
				if err == nil {
					t.Fatalf("cinder create --image %s accepted:\n%s", tc.image, out)
				}
				for _, w := range tc.want {
					if !strings.Contains(out, w) {
						t.Errorf("cinder create --image %s: %q not in\n%s", tc.image, w, out)
					}
				}
				okAny := len(tc.anyOf) == 0
				for _, a := range tc.anyOf {
					okAny = okAny || strings.Contains(out, a)
				}
				if !okAny {
					t.Errorf("cinder create --image %s: none of %q in\n%s", tc.image, tc.anyOf, out)
				}
				okCode := false
				for _, c := range tc.codes {
					okCode = okCode || strings.Contains(out, c)
				}
				if !okCode || strings.Contains(out, "HTTP 500") {
					t.Errorf("cinder create --image %s: want one of %v in\n%s", tc.image, tc.codes, out)
				}
			})
		}
		if after := countVolumes(t, e); after != before {
			t.Errorf("refused creates left volumes: %d before, %d after", before, after)
		}
	})

	t.Run("virtual size above the volume size", func(t *testing.T) {
		e := e0.with(t)
		// A 2 GiB (virtual) qcow2 of a few KiB passes the API's checks (its file fits in 1 GB,
		// as in Cinder); the volume service refuses it: error, with a user message.
		huge := filepath.Join(files.dir, "huge.qcow2")
		runOK(t, "qemu-img", "create", "-q", "-f", "qcow2", huge, "2G")
		hugeID := e.glance.image("e2e-2g-virtual-"+tag, "qcow2", huge, "file", nil)
		out, err := e.cli("cinder", ksAlice, "create", "--image", hugeID, "--name", "too-small", "1")
		if err != nil {
			// Cinder accepts it and fails in the volume service; a refusal at the API must
			// at least say why.
			if !strings.Contains(out, "HTTP 400") || !strings.Contains(out, "virtual size") {
				t.Errorf("cinder create of a 1 GB volume from a 2 GiB image: %v", err)
			}
			t.Logf("refused by the API: %s", strings.TrimSpace(out))
			return
		}
		id := parseProperties(out)["id"]
		made = append(made, id)
		e.waitStatus(id, 2*time.Minute, "error")
		e.checkNoLeftovers(made[:len(made)-1]...)
		if msgs := e.userMessages(id); len(msgs) == 0 {
			t.Errorf("volume %s in error without a user message", id)
		} else {
			t.Logf("user messages of %s: %v", id, msgs)
		}
	})

	t.Run("cinder upload-to-image", func(t *testing.T) {
		e := e0.with(t)
		// A plain volume with the raw image's bytes written into its file (independent of the
		// creates from images), uploaded raw; and the volume made from the qcow2 image,
		// uploaded as qcow2, whose image properties go with it.
		fromQcow2 := ""
		if len(made) > 0 {
			fromQcow2 = made[0]
		}
		plain := e.blankVolumeWith("plain-"+tag, files.raw)
		made = append(made, plain)
		cases := []struct{ volume, format string }{{plain, "raw"}}
		if fromQcow2 != "" {
			cases = append(cases, struct{ volume, format string }{fromQcow2, "qcow2"})
		} else {
			t.Error("no volume made from an image: the carry-over of its image properties is not checked")
		}
		for _, tc := range cases {
			args := []string{"upload-to-image"}
			if tc.format != "raw" {
				args = append(args, "--disk-format", tc.format)
			}
			name := "e2e-upload-" + tc.format + "-" + tag
			out := e.must("cinder", append(args, tc.volume, name)...)
			up := parseProperties(out)
			imageID := up["image_id"]
			if !uuidRE.MatchString(imageID) {
				t.Fatalf("cinder upload-to-image: no image_id in\n%s", out)
			}
			e.glance.cleanup(imageID)
			if up["status"] != "uploading" || up["disk_format"] != tc.format || up["image_name"] != name {
				t.Errorf("cinder upload-to-image answered %v", up)
			}
			seen := e.waitStatus(tc.volume, 3*time.Minute, "available")
			t.Logf("volume %s during the %s upload: %v", tc.volume, tc.format, seen)
			e.glance.waitStatus(imageID, "active", time.Minute)

			var shown struct {
				Status     string         `json:"status"`
				DiskFormat string         `json:"disk_format"`
				Name       string         `json:"name"`
				Properties map[string]any `json:"properties"`
			}
			raw := e.must("openstack", "image", "show", "-f", "json", imageID)
			if err := json.Unmarshal([]byte(raw), &shown); err != nil {
				t.Fatalf("openstack image show: %v\n%s", err, raw)
			}
			if shown.Status != "active" || shown.DiskFormat != tc.format || shown.Name != name {
				t.Errorf("openstack image show %s: status %q disk_format %q name %q; want active %s %s",
					imageID, shown.Status, shown.DiskFormat, shown.Name, tc.format, name)
			}
			if tc.volume != plain && (fmt.Sprint(shown.Properties["os_distro"]) != "cirros" || fmt.Sprint(shown.Properties["hw_disk_bus"]) != "scsi") {
				t.Errorf("openstack image show %s: properties %v, want the volume's os_distro=cirros hw_disk_bus=scsi", imageID, shown.Properties)
			}
			got := filepath.Join(t.TempDir(), "downloaded")
			e.must("glance", "image-download", "--file", got, imageID)
			qemuCompare(t, "uploaded image "+imageID+" against volume "+tc.volume, got, tc.format, e.volumeFile(tc.volume), "raw")
		}
	})

	t.Run("openstack volume create --image", func(t *testing.T) {
		e := e0.with(t)
		raw := e.must("openstack", "volume", "create", "--image", qcowID, "--size", "1", "-f", "json", "os-from-image")
		var created struct{ ID string }
		if err := json.Unmarshal([]byte(raw), &created); err != nil || created.ID == "" {
			t.Fatalf("openstack volume create --image: %v\n%s", err, raw)
		}
		made = append(made, created.ID)
		e.waitStatus(created.ID, 2*time.Minute, "available")
		var shown struct {
			Bootable            string            `json:"bootable"`
			VolumeImageMetadata map[string]string `json:"volume_image_metadata"`
		}
		raw = e.must("openstack", "volume", "show", "-f", "json", created.ID)
		if err := json.Unmarshal([]byte(raw), &shown); err != nil {
			t.Fatalf("openstack volume show: %v\n%s", err, raw)
		}
		if shown.Bootable != "true" || shown.VolumeImageMetadata["image_id"] != qcowID {
			t.Errorf("openstack volume show %s: bootable %q volume_image_metadata %v", created.ID, shown.Bootable, shown.VolumeImageMetadata)
		}
		checkFromImage(t, created.ID, qcowID)
	})

	t.Run("gophercloud", func(t *testing.T) {
		e := e0.with(t)
		ctx := ctxT(t, 5*time.Minute)
		provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: keystoneURL,
			Username: ksAlice.name, Password: ksAlice.password, DomainName: "Default", TenantName: ksAlice.project})
		if err != nil {
			t.Fatalf("gophercloud login: %v", err)
		}
		client, err := openstack.NewBlockStorageV3(provider, gophercloud.EndpointOpts{Region: e.region})
		if err != nil {
			t.Fatal(err)
		}
		v, err := volumes.Create(ctx, client, volumes.CreateOpts{Size: 1, Name: "gc-from-image", ImageID: rawID}, nil).Extract()
		if err != nil {
			t.Fatalf("gophercloud create from image: %v", err)
		}
		made = append(made, v.ID)
		e.waitStatus(v.ID, 2*time.Minute, "available")
		got, err := volumes.Get(ctx, client, v.ID).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if got.Bootable != "true" {
			t.Errorf("gophercloud: volume %s bootable %q", v.ID, got.Bootable)
		}
		if got.VolumeImageMetadata["image_id"] != rawID {
			t.Errorf("gophercloud: volume_image_metadata %v", got.VolumeImageMetadata)
		}
		checkFromImage(t, v.ID, rawID)

		up, err := volumes.UploadImage(ctx, client, v.ID, volumes.UploadImageOpts{ImageName: "e2e-gc-upload-" + tag,
			DiskFormat: "qcow2", ContainerFormat: "bare"}).Extract()
		if err != nil {
			t.Fatalf("gophercloud UploadImage: %v", err)
		}
		e.glance.cleanup(up.ImageID)
		if up.Status != "uploading" || up.DiskFormat != "qcow2" || up.VolumeID != v.ID {
			t.Errorf("gophercloud UploadImage answered %+v", up)
		}
		e.waitStatus(v.ID, 3*time.Minute, "available")
		e.glance.waitStatus(up.ImageID, "active", time.Minute)
		dl := filepath.Join(t.TempDir(), "gc.qcow2")
		e.glance.download(up.ImageID, dl)
		qemuCompare(t, "gophercloud upload of "+v.ID, dl, "qcow2", e.volumeFile(v.ID), "raw")
	})

	e.deleteVolumes(made...)
	e.checkNothingTransitional()
	e.checkNoLeftovers()
}

// countVolumes is the number of volumes (any project) not deleted.
func countVolumes(t *testing.T, e *imageEnv) int {
	t.Helper()
	var n int
	if err := e.c.DB().QueryRow("SELECT COUNT(*) FROM volumes WHERE deleted = 0").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// runOK runs a command and fails t when it fails.
func runOK(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}
