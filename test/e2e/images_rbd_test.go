//go:build ceph

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/test/cluster"
)

// TestImagesRBD: an RBD backend on the test Ceph and the test Glance's `ceph` store (pool
// images on the same cluster). A volume from a raw image in that store is a copy-on-write
// clone of the image's snapshot (rbd info: parent images/<image id>@snap) holding the image's
// bytes; a volume from a qcow2 image in the `file` store is downloaded and converted to raw;
// a volume uploaded to Glance comes back byte for byte.
func TestImagesRBD(t *testing.T) {
	ceph := requireCeph(t)
	requireServers(t)
	settings := glanceSettings(t)
	if !strings.Contains(settings["SCORIA_TEST_GLANCE_STORES"], "ceph") {
		unavailable(t, "the test Glance has no ceph store (SCORIA_TEST_GLANCE_STORES=%q)", settings["SCORIA_TEST_GLANCE_STORES"])
	}
	e := startImageEnv(t, "", func(o *cluster.Options) {
		o.Volumes = []cluster.VolumeSpec{{Host: "node1", Backends: []cluster.BackendSpec{{Name: "ceph", Options: map[string]string{
			"volume_driver":       "cinder.volume.drivers.rbd.RBDDriver",
			"volume_backend_name": "ceph",
			"rbd_pool":            ceph.pool,
			"rbd_ceph_conf":       ceph.conf,
			"rbd_user":            ceph.user,
			"rbd_keyring_conf":    ceph.keyring,
			"rbd_secret_uuid":     "457eb676-33da-42ec-9a8c-9293d545c337",
		}}}}}
	})
	files := makeImageFiles(t, false)
	tag := randomTag(t)
	rbdImage := e.glance.image("e2e-rbd-raw-"+tag, "raw", files.raw, "ceph", imageProps)
	fileImage := e.glance.image("e2e-rbd-qcow2-"+tag, "qcow2", files.qcow2, "file", imageProps)
	rbdPath := func(id string) string {
		return "rbd:" + ceph.pool + "/volume-" + id + ":id=" + ceph.user + ":conf=" + ceph.conf + ":keyring=" + ceph.keyring
	}
	var made []string

	// The clone: parent images/<image>@snap, the image's bytes, size 1 GiB.
	id := parseProperties(e.must("cinder", "create", "--image", rbdImage, "--name", "rbd-clone", "1"))["id"]
	made = append(made, id)
	e.waitStatus(id, 2*time.Minute, "available")
	out, err := ceph.rbd("info", "--format", "json", "volume-"+id)
	if err != nil {
		t.Fatalf("rbd info volume-%s: %v", id, err)
	}
	var info struct {
		Size   int64 `json:"size"`
		Parent *struct {
			Pool     string `json:"pool"`
			Image    string `json:"image"`
			Snapshot string `json:"snapshot"`
		} `json:"parent"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("rbd info: %v\n%s", err, out)
	}
	if info.Parent == nil || info.Parent.Pool != settings["SCORIA_TEST_GLANCE_RBD_POOL"] || info.Parent.Image != rbdImage || info.Parent.Snapshot != "snap" {
		t.Errorf("volume-%s is not a clone of %s/%s@snap: rbd info %s", id, settings["SCORIA_TEST_GLANCE_RBD_POOL"], rbdImage, out)
	}
	if info.Size != gib {
		t.Errorf("volume-%s: size %d, want 1 GiB", id, info.Size)
	}
	if v := e.volume(id); v.Bootable != "true" || v.VolumeImageMetadata["image_id"] != rbdImage || v.VolumeImageMetadata["os_distro"] != "cirros" {
		t.Errorf("volume %s: bootable %q volume_image_metadata %v", id, v.Bootable, v.VolumeImageMetadata)
	}
	qemuCompare(t, "RBD clone "+id, files.raw, "raw", rbdPath(id), "raw")

	// The download: a qcow2 of the file store, converted; no parent.
	dl := parseProperties(e.must("cinder", "create", "--image", fileImage, "--name", "rbd-download", "1"))["id"]
	made = append(made, dl)
	e.waitStatus(dl, 2*time.Minute, "available")
	if img, _ := ceph.info(t, "volume-"+dl); img.Parent != nil {
		t.Errorf("volume-%s from a file-store image has a parent %+v", dl, img.Parent)
	}
	qemuCompare(t, "RBD volume "+dl+" from qcow2", files.qcow2, "qcow2", rbdPath(dl), "raw")

	// Upload of the clone, back byte for byte.
	up := parseProperties(e.must("cinder", "upload-to-image", "--disk-format", "raw", id, "e2e-rbd-upload-"+tag))
	imageID := up["image_id"]
	if !uuidRE.MatchString(imageID) {
		t.Fatalf("cinder upload-to-image: %v", up)
	}
	e.glance.cleanup(imageID)
	e.waitStatus(id, 3*time.Minute, "available")
	e.glance.waitStatus(imageID, "active", 2*time.Minute)
	got := t.TempDir() + "/uploaded.raw"
	e.must("glance", "image-download", "--file", got, imageID)
	qemuCompare(t, "image uploaded from RBD volume "+id, got, "raw", rbdPath(id), "raw")

	e.deleteVolumes(made...)
	e.checkNothingTransitional()
	if out, err := ceph.rbd("ls"); err == nil {
		for _, v := range made {
			if strings.Contains(string(out), v) {
				t.Errorf("rbd ls still lists %s: %s", v, out)
			}
		}
	}
}
