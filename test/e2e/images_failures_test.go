package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/test/cluster"
)

// TestImagesGlanceFailures: the services reach Glance through a glanceProxy, which stands in
// for Glance dying (the shared test Glance itself is never stopped: other packages use it).
//   - Glance gone in the middle of a download: the volume ends in error with a user message
//     (cinder message-list), nothing is left downloading, no file is left behind.
//   - scoria-volume killed (-9) in the middle of a download: after its restart the volume is
//     available with the image's bytes or in error, never downloading.
//   - scoria-volume killed (-9) in the middle of an upload: after its restart the volume is
//     available again and the half-made image is deleted from Glance.
func TestImagesGlanceFailures(t *testing.T) {
	requireServers(t)
	settings := glanceSettings(t)
	proxy := startGlanceProxy(t, settings["SCORIA_TEST_GLANCE_URL"])
	e0 := startImageEnv(t, proxy.URL(), nil)
	files := makeImageFiles(t, true)
	tag := randomTag(t)
	bigID := e0.glance.image("e2e-big-"+tag, "raw", files.big, "file", imageProps)
	node := cluster.VolumeProcess("node1")

	t.Run("Glance gone mid-download", func(t *testing.T) {
		e := e0.with(t)
		defer proxy.Restore()
		defer proxy.rate.Store(0)
		proxy.rate.Store(8 << 20) // 64 MiB: about 8 s
		from := proxy.down.Load()
		id := e.createFromImage("cut-"+tag, bigID)
		waitBytes(t, "download of "+id, &proxy.down, from, 8<<20, time.Minute)
		if s := e.volume(id).Status; s != "downloading" {
			t.Errorf("volume %s mid-download: status %q, want downloading", id, s)
		}
		proxy.Cut() // Glance dies
		seen := e.waitStatus(id, 3*time.Minute, "error")
		t.Logf("volume %s, Glance gone mid-download: statuses %v", id, seen)
		proxy.Restore()
		msgs := e.userMessages(id)
		if len(msgs) == 0 {
			t.Errorf("volume %s in error without a user message", id)
		}
		for _, m := range msgs {
			t.Logf("user message: %v", m)
			if !strings.HasPrefix(m["Event ID"], "VOLUME_VOLUME_005_") {
				t.Errorf("user message of %s: event %q, want Cinder's copy image to volume (VOLUME_VOLUME_005_*)", id, m["Event ID"])
			}
		}
		e.checkNothingTransitional()
		e.deleteVolumes(id)
		e.checkNoLeftovers()
	})

	t.Run("scoria-volume killed mid-download", func(t *testing.T) {
		e := e0.with(t)
		defer proxy.rate.Store(0)
		proxy.rate.Store(8 << 20)
		from := proxy.down.Load()
		id := e.createFromImage("kill-download-"+tag, bigID)
		waitBytes(t, "download of "+id, &proxy.down, from, 16<<20, time.Minute)
		if s := e.volume(id).Status; s != "downloading" {
			t.Errorf("volume %s mid-download: status %q, want downloading", id, s)
		}
		if err := e.c.Kill(node); err != nil {
			t.Fatal(err)
		}
		proxy.rate.Store(0)
		if err := e.c.Restart(node); err != nil {
			t.Fatal(err)
		}
		seen := e.waitStatus(id, 3*time.Minute, "available", "error")
		t.Logf("volume %s, scoria-volume killed mid-download: statuses %v", id, seen)
		if e.volume(id).Status == "available" {
			qemuCompare(t, "volume "+id+" after the restart", files.big, "raw", e.volumeFile(id), "raw")
		}
		e.checkNothingTransitional()
		e.deleteVolumes(id)
		e.checkNoLeftovers()
	})

	t.Run("scoria-volume killed mid-upload", func(t *testing.T) {
		e := e0.with(t)
		// A plain volume with 64 MiB of random bytes written into its file: independent of
		// the create from an image.
		id := e.blankVolumeWith("kill-upload-"+tag, files.big)
		defer proxy.rate.Store(0)
		proxy.rate.Store(4 << 20) // about 64 MiB of qcow2: 16 s
		from := proxy.up.Load()
		imageID := e.uploadToImage(id, "e2e-half-"+tag, "qcow2")
		waitBytes(t, "upload of "+id, &proxy.up, from, 8<<20, 2*time.Minute)
		if s := e.volume(id).Status; s != "uploading" {
			t.Errorf("volume %s mid-upload: status %q, want uploading", id, s)
		}
		if err := e.c.Kill(node); err != nil {
			t.Fatal(err)
		}
		proxy.rate.Store(0)
		if err := e.c.Restart(node); err != nil {
			t.Fatal(err)
		}
		seen := e.waitStatus(id, 3*time.Minute, "available")
		t.Logf("volume %s, scoria-volume killed mid-upload: statuses %v", id, seen)
		e.glance.waitStatus(imageID, "gone", 2*time.Minute)
		e.checkNothingTransitional()
		e.deleteVolumes(id)
		e.checkNoLeftovers()
	})

	if n := proxy.Downloads(bigID); n == 0 {
		t.Errorf("no download of %s went through the proxy: the services did not use glance_api_servers", bigID)
	}
}

// TestImagesCache: with image_volume_cache_enabled on the local-file backend and an internal
// tenant, the first volume made from an image downloads it once and leaves a cache volume
// image-<image id> owned by the internal project; the second is cloned from it (no second
// download through the proxy) and holds the same bytes.
func TestImagesCache(t *testing.T) {
	requireServers(t)
	requireKeystone(t)
	settings := glanceSettings(t)
	adminToken, _ := ksLogin(t, ksAdmin)
	internalProject, internalUser := ksID(t, adminToken, "projects", "service"), ksID(t, adminToken, "users", "scoria")
	proxy := startGlanceProxy(t, settings["SCORIA_TEST_GLANCE_URL"])
	e := startImageEnv(t, proxy.URL(), func(o *cluster.Options) {
		o.Extra["cinder_internal_tenant_project_id"] = internalProject
		o.Extra["cinder_internal_tenant_user_id"] = internalUser
		o.Volumes = []cluster.VolumeSpec{{Host: "node1", Backends: []cluster.BackendSpec{{Name: cluster.BackendName, Options: map[string]string{
			"image_volume_cache_enabled": "True", "image_volume_cache_max_size_gb": "10", "image_volume_cache_max_count": "5",
		}}}}}
	})
	files := makeImageFiles(t, false)
	tag := randomTag(t)
	imageID := e.glance.image("e2e-cached-"+tag, "qcow2", files.qcow2, "file", imageProps)

	first := parseProperties(e.must("cinder", "create", "--image", imageID, "--name", "cache-miss", "1"))["id"]
	e.waitStatus(first, 2*time.Minute, "available")
	second := parseProperties(e.must("cinder", "create", "--image", imageID, "--name", "cache-hit", "1"))["id"]
	e.waitStatus(second, 2*time.Minute, "available")
	if n := proxy.Downloads(imageID); n != 1 {
		t.Errorf("image %s downloaded %d times for two volumes, want 1 (the second cloned from the cache)", imageID, n)
	}
	for _, id := range []string{first, second} {
		qemuCompare(t, "volume "+id, files.qcow2, "qcow2", e.volumeFile(id), "raw")
		if v := e.volume(id); v.Bootable != "true" || v.VolumeImageMetadata["image_id"] != imageID {
			t.Errorf("volume %s: bootable %q volume_image_metadata %v", id, v.Bootable, v.VolumeImageMetadata)
		}
	}

	var all struct {
		Volumes []struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Status  string `json:"status"`
			Project string `json:"os-vol-tenant-attr:tenant_id"`
		} `json:"volumes"`
	}
	_, adminProject := ksLogin(t, ksAdmin)
	if code, raw := e.api(adminToken, adminProject, "GET", "/volumes/detail?all_tenants=1", nil, &all); code != http.StatusOK {
		t.Fatalf("list all volumes as admin: %d %s", code, raw)
	}
	var cached []string
	for _, v := range all.Volumes {
		if v.Name == "image-"+imageID {
			cached = append(cached, v.ID)
			if v.Project != internalProject || v.Status != "available" {
				t.Errorf("cache volume %s: project %s status %s, want the internal project %s, available", v.ID, v.Project, v.Status, internalProject)
			}
			qemuCompare(t, "cache volume "+v.ID, files.qcow2, "qcow2", e.volumeFile(v.ID), "raw")
		}
	}
	if len(cached) != 1 {
		t.Errorf("%d cache volumes image-%s, want 1; volumes: %+v", len(cached), imageID, all.Volumes)
	}
	e.deleteVolumes(first, second)
	e.checkNothingTransitional()
	e.checkNoLeftovers(cached...)
}

// ksID is the id of the Keystone project or user named name (in the default domain).
func ksID(t *testing.T, adminToken, kind, name string) string {
	t.Helper()
	var out map[string]json.RawMessage
	ksCall(t, "GET", fmt.Sprintf("/%s?name=%s&domain_id=default", kind, name), adminToken, nil, http.StatusOK, &out)
	var found []struct{ ID string }
	if err := json.Unmarshal(out[kind], &found); err != nil || len(found) != 1 {
		t.Fatalf("keystone: %d %s named %s (%v)", len(found), kind, name, err)
	}
	return found[0].ID
}
