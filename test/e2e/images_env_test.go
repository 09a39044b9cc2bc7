package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scoria/scoria/test/cluster"
)

// imageEnv is a cluster with auth_strategy = keystone whose services reach the test Glance
// at glanceServer (the real one, or a glanceProxy in front of it), in a Keystone region of its
// own; alice (demo-a) owns the images and the volumes.
type imageEnv struct {
	t            *testing.T
	c            *cluster.Cluster
	glanceURL    string // the real Glance, for the clients
	region       string
	convDir      string // image_conversion_dir of the volume services
	adminToken   string
	aliceToken   string
	aliceProject string
	glance       glanceAPI // as alice
}

// startImageEnv starts the cluster; more changes its options (backends, cache, …).
func startImageEnv(t *testing.T, glanceServer string, more func(*cluster.Options)) *imageEnv {
	t.Helper()
	requireKeystone(t)
	settings := glanceSettings(t)
	adminToken, adminProject := ksLogin(t, ksAdmin)
	aliceToken, aliceProject := ksLogin(t, ksAlice)
	if glanceServer == "" {
		glanceServer = settings["SCORIA_TEST_GLANCE_URL"]
	}
	convDir := filepath.Join(t.TempDir(), "conversion")
	opts := cluster.Options{
		Project: adminProject, AuthToken: adminToken,
		Extra: map[string]string{
			"auth_strategy":          "keystone",
			"glance_api_servers":     glanceServer,
			"glance_num_retries":     "1",
			"glance_request_timeout": "15",
			"image_conversion_dir":   convDir,
		},
		Sections: map[string]map[string]string{"keystone_authtoken": {
			"www_authenticate_uri": keystoneURL, "auth_url": keystoneURL, "auth_type": "password",
			"username": "scoria", "password": "scoria-secret", "project_name": "service",
			"user_domain_name": "Default", "project_domain_name": "Default",
		}},
	}
	if more != nil {
		more(&opts)
	}
	c := startCluster(t, opts)
	e := &imageEnv{t: t, c: c, glanceURL: settings["SCORIA_TEST_GLANCE_URL"], convDir: convDir,
		adminToken: adminToken, aliceToken: aliceToken, aliceProject: aliceProject,
		region: ksRegion(t, adminToken, c.Endpoint())}
	e.glance = glanceAPI{t: t, url: e.glanceURL, token: aliceToken}
	return e
}

// with is the env for subtest t: its failures end t, not the parent.
func (e *imageEnv) with(t *testing.T) *imageEnv {
	c := *e
	c.t = t
	c.glance.t = t
	return &c
}

// cli runs a python OpenStack CLI (cinder, openstack or glance) as u with a password: Scoria
// through the catalog of the env's region, Glance at its own URL.
func (e *imageEnv) cli(tool string, u ksUser, args ...string) (string, error) {
	e.t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		unavailable(e.t, "no %s CLI (Debian python3-cinderclient / python3-openstackclient / python3-glanceclient): %v", tool, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	home := e.t.TempDir()
	clouds := fmt.Sprintf(`clouds:
  e2e:
    auth:
      auth_url: %s
      username: %s
      password: %s
      project_name: %s
      user_domain_name: Default
      project_domain_name: Default
    region_name: %s
    interface: public
    identity_api_version: 3
    volume_api_version: 3
    image_api_version: '2'
    image_endpoint_override: %s
`, keystoneURL, u.name, u.password, u.project, e.region, e.glanceURL)
	if err := os.WriteFile(home+"/clouds.yaml", []byte(clouds), 0o600); err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "LC_ALL=C.UTF-8"}
	switch tool {
	case "openstack":
		cmd.Env = append(cmd.Env, "OS_CLIENT_CONFIG_FILE="+home+"/clouds.yaml", "OS_CLOUD=e2e")
	default:
		cmd.Env = append(cmd.Env, "OS_AUTH_URL="+keystoneURL, "OS_AUTH_TYPE=password",
			"OS_USERNAME="+u.name, "OS_PASSWORD="+u.password, "OS_PROJECT_NAME="+u.project,
			"OS_USER_DOMAIN_NAME=Default", "OS_PROJECT_DOMAIN_NAME=Default", "OS_REGION_NAME="+e.region,
			"OS_IMAGE_URL="+e.glanceURL)
	}
	if err := cmd.Run(); err != nil {
		return stdout.String() + stderr.String(), fmt.Errorf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", tool, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// must is cli as alice, failing the test on an error.
func (e *imageEnv) must(tool string, args ...string) string {
	e.t.Helper()
	out, err := e.cli(tool, ksAlice, args...)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// aliceVolume is what the tests read of one of alice's volumes (GET as alice).
type aliceVolume struct {
	ID                  string            `json:"id"`
	Name                string            `json:"name"`
	Status              string            `json:"status"`
	Size                int               `json:"size"`
	Bootable            string            `json:"bootable"`
	VolumeImageMetadata map[string]string `json:"volume_image_metadata"`
	Host                string            `json:"os-vol-host-attr:host"`
}

// api sends one request to Scoria as the token's owner (microversion 3.1) and decodes a 2xx
// answer into out; it returns the status and the raw body.
func (e *imageEnv) api(token, project, method, path string, body any, out any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.c.Endpoint()+"/"+project+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("OpenStack-API-Version", "volume 3.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, raw
}

// volume is alice's GET /volumes/{id}.
func (e *imageEnv) volume(id string) aliceVolume {
	e.t.Helper()
	var out struct{ Volume aliceVolume }
	if code, raw := e.api(e.aliceToken, e.aliceProject, "GET", "/volumes/"+id, nil, &out); code != http.StatusOK {
		e.t.Fatalf("GET volume %s as alice: %d %s", id, code, raw)
	}
	return out.Volume
}

// createFromImage sends alice's create of a 1 GiB volume from image id through the API and
// returns the volume's id.
func (e *imageEnv) createFromImage(name, imageID string) string {
	e.t.Helper()
	var out struct{ Volume aliceVolume }
	code, raw := e.api(e.aliceToken, e.aliceProject, "POST", "/volumes", map[string]any{"volume": map[string]any{
		"name": name, "size": 1, "imageRef": imageID}}, &out)
	if code != http.StatusAccepted {
		e.t.Fatalf("create %s from image %s: %d %s", name, imageID, code, raw)
	}
	return out.Volume.ID
}

// blankVolumeWith creates a 1 GiB volume of alice's and writes the bytes of the file at
// path at its start, straight into the local-file backend's file.
func (e *imageEnv) blankVolumeWith(name, path string) string {
	e.t.Helper()
	var out struct{ Volume aliceVolume }
	code, raw := e.api(e.aliceToken, e.aliceProject, "POST", "/volumes", map[string]any{"volume": map[string]any{
		"name": name, "size": 1}}, &out)
	if code != http.StatusAccepted {
		e.t.Fatalf("create %s: %d %s", name, code, raw)
	}
	e.waitStatus(out.Volume.ID, 2*time.Minute, "available")
	data, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatal(err)
	}
	f, err := os.OpenFile(e.volumeFile(out.Volume.ID), os.O_WRONLY, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		f.Close()
		e.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		e.t.Fatal(err)
	}
	return out.Volume.ID
}

// uploadToImage sends alice's os-volume_upload_image and returns the new image's id (deleted
// from Glance when t ends).
func (e *imageEnv) uploadToImage(volumeID, imageName, diskFormat string) string {
	e.t.Helper()
	var out struct {
		Upload struct {
			ImageID string `json:"image_id"`
			Status  string `json:"status"`
		} `json:"os-volume_upload_image"`
	}
	code, raw := e.api(e.aliceToken, e.aliceProject, "POST", "/volumes/"+volumeID+"/action", map[string]any{
		"os-volume_upload_image": map[string]any{"image_name": imageName, "disk_format": diskFormat,
			"container_format": "bare", "force": false}}, &out)
	if code != http.StatusAccepted || out.Upload.ImageID == "" {
		e.t.Fatalf("os-volume_upload_image of %s: %d %s", volumeID, code, raw)
	}
	e.glance.cleanup(out.Upload.ImageID)
	if out.Upload.Status != "uploading" {
		e.t.Errorf("os-volume_upload_image of %s answered status %q, want uploading", volumeID, out.Upload.Status)
	}
	return out.Upload.ImageID
}

// volumeFile is the local-file backend's file of volume id on node1.
func (e *imageEnv) volumeFile(id string) string {
	return filepath.Join(e.c.VolumeDir("node1"), "volume-"+id)
}

// waitStatus waits for volume id to reach one of want, failing at once on another final
// status; it returns the statuses it saw on the way, in order.
func (e *imageEnv) waitStatus(id string, timeout time.Duration, want ...string) []string {
	e.t.Helper()
	var seen []string
	err := cluster.Poll(context.Background(), timeout, 100*time.Millisecond, func() (bool, string, error) {
		if err := e.c.CheckProcesses(); err != nil {
			return false, "", err
		}
		v := e.volume(id)
		if len(seen) == 0 || seen[len(seen)-1] != v.Status {
			seen = append(seen, v.Status)
		}
		for _, w := range want {
			if v.Status == w {
				return true, "", nil
			}
		}
		if v.Status == "error" || v.Status == "available" {
			return false, "", fmt.Errorf("volume %s went to %s (statuses %v), want %v; the logs say:\n%s", id, v.Status, seen, want,
				strings.Join(e.c.Grep(id, "level=error", "level=warning"), "\n"))
		}
		return false, fmt.Sprintf("statuses %v", seen), nil
	})
	if err != nil {
		e.t.Fatalf("volume %s: %v", id, err)
	}
	return seen
}

// checkNothingTransitional checks that no volume of the cluster is downloading, uploading or
// creating.
func (e *imageEnv) checkNothingTransitional() {
	e.t.Helper()
	rows, err := e.c.DB().Query("SELECT id, status FROM volumes WHERE deleted = 0 AND status IN ('creating', 'downloading', 'uploading')")
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, status string
		if err := rows.Scan(&id, &status); err != nil {
			e.t.Fatal(err)
		}
		e.t.Errorf("volume %s left %s", id, status)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
}

// checkNoLeftovers checks that the backend directory has no volume file but those of keep and
// the conversion directory is empty (it may not exist).
func (e *imageEnv) checkNoLeftovers(keep ...string) {
	e.t.Helper()
	files, err := e.c.Files()
	if err != nil {
		e.t.Fatal(err)
	}
	for host, names := range files {
	next:
		for _, n := range names {
			for _, k := range keep {
				if n == "volume-"+k {
					continue next
				}
			}
			e.t.Errorf("%s: %s left in the backend directory", host, n)
		}
	}
	entries, err := os.ReadDir(e.convDir)
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	for _, en := range entries {
		e.t.Errorf("image_conversion_dir: %s left behind", en.Name())
	}
}

// deleteVolumes deletes alice's volumes and waits until they are gone.
func (e *imageEnv) deleteVolumes(ids ...string) {
	e.t.Helper()
	for _, id := range ids {
		if code, raw := e.api(e.aliceToken, e.aliceProject, "DELETE", "/volumes/"+id, nil, nil); code != http.StatusAccepted {
			e.t.Errorf("delete volume %s: %d %s", id, code, raw)
		}
	}
	for _, id := range ids {
		if err := e.c.WaitVolumeGone(id, 2*time.Minute); err != nil {
			e.t.Error(err)
		}
	}
}

// userMessages are alice's user messages about volume id, through cinder message-list.
func (e *imageEnv) userMessages(id string) []map[string]string {
	e.t.Helper()
	return parseTable(e.must("cinder", "message-list", "--resource_uuid", id))
}
