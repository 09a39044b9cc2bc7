package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/internal/service"
	"github.com/scoria/scoria/pkg/driver"
	"github.com/scoria/scoria/test/blockstorage"
	"github.com/scoria/scoria/test/cluster"
)

// requireTGTD checks the machine's tgtd answers (.ci/run starts it on 127.0.0.1:3260) and
// that the initiator tools are installed.
func requireTGTD(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"tgtadm", "tgt-admin", "iscsi-ls", "iscsi-readcapacity16", "qemu-img"} {
		if _, err := exec.LookPath(tool); err != nil {
			unavailable(t, "%s is missing (Debian: tgt, libiscsi-bin, qemu-utils, qemu-block-extra)", tool)
		}
	}
	if out, err := exec.Command("tgtadm", "--lld", "iscsi", "--mode", "system", "--op", "show").CombinedOutput(); err != nil {
		unavailable(t, "tgtd does not answer: %v %s", err, out)
	}
}

func tgtTargets(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("tgtadm", "--lld", "iscsi", "--mode", "target", "--op", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("tgtadm show: %v %s", err, out)
	}
	return string(out)
}

// iscsiLUN is libiscsi's URL of the LUN of an iSCSI connection info, logging in with the
// given password.
func iscsiLUN(data map[string]any, password string) string {
	auth := ""
	if u, ok := data["auth_username"].(string); ok {
		auth = u + "%" + password + "@"
	}
	return fmt.Sprintf("iscsi://%s%s/%s/%v", auth, data["target_portal"], data["target_iqn"], data["target_lun"])
}

// TestISCSIExport runs a cluster whose local-file backend exports through tgtd with CHAP,
// asks the volume service for a connection over the bus (initialize_connection, as the
// attachments API does), logs in with libiscsi and qemu, then checks that the target comes
// back after the service restarts on a tgtd that lost it, that an orphan target is removed
// at start, and that deleting the volume removes its target.
func TestISCSIExport(t *testing.T) {
	requireTGTD(t)
	prefix := "iqn.2010-10.org.scoria-e2e-" + uuid.NewString()[:8] + ":"
	targetsDir := t.TempDir()
	c := startCluster(t, cluster.Options{Volumes: []cluster.VolumeSpec{{Host: "node1", Backends: []cluster.BackendSpec{{
		Name: "iscsi", Options: map[string]string{"target_helper": "tgtadm", "use_chap_auth": "true",
			"target_prefix": prefix, "volumes_dir": targetsDir, "target_ip_address": "127.0.0.1"},
	}}}}})
	cl := c.Client()
	ctx := ctxT(t, 4*time.Minute)
	backendHost := "node1@iscsi"

	v, err := cl.CreateVolume(ctx, blockstorage.CreateVolumeOpts{Name: "iscsi", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, v.ID, "available")
	iqn := prefix + driver.StorageName(v.ID)

	tr := volumeBus(t, c)
	connect := func() map[string]any {
		t.Helper()
		var reply rpcapi.ConnectionReply
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := tr.Call(cctx, rpcapi.VolumeTarget(backendHost), rpcapi.InitializeConnection, rpcapi.ConnectionArgs{
			VolumeID: v.ID, AttachmentID: uuid.NewString(), AccessMode: "rw",
			Connector: driver.Connector{"initiator": "iqn.1993-08.org.debian:01:e2e", "ip": "127.0.0.1", "host": "e2e"},
		}, &reply); err != nil {
			t.Fatalf("initialize_connection: %v", err)
		}
		if reply.ConnectionInfo.DriverVolumeType != "iscsi" {
			t.Fatalf("connection info %+v", reply.ConnectionInfo)
		}
		return reply.ConnectionInfo.Data
	}
	data := connect()
	password, _ := data["auth_password"].(string)
	if data["target_iqn"] != iqn || data["auth_method"] != "CHAP" || password == "" || data["volume_id"] != v.ID ||
		data["target_portal"] != "127.0.0.1:3260" || data["target_discovered"] != false {
		t.Fatalf("connection data %v", data)
	}
	readCapacity := func(pw string) (string, error) {
		out, err := exec.CommandContext(ctx, "iscsi-readcapacity16", iscsiLUN(data, pw)).CombinedOutput()
		return string(out), err
	}
	if out, err := readCapacity(password); err != nil || !strings.Contains(out, fmt.Sprintf("Total size:%d", driver.GiB)) {
		t.Fatalf("iscsi-readcapacity16: %v\n%s", err, out)
	}
	if out, err := readCapacity(password + "x"); err == nil {
		t.Errorf("a wrong CHAP password was not refused:\n%s", out)
	}
	if again := connect(); again["auth_password"] != password || again["auth_username"] != data["auth_username"] {
		t.Errorf("a second initialize_connection changed the credentials: %v", again)
	}

	// bytes written over iSCSI are in the backend's file
	src := filepath.Join(t.TempDir(), "src.raw")
	payload := append([]byte("written over iscsi by qemu-img"), make([]byte, 1<<20)...)[:1<<20]
	if err := os.WriteFile(src, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", src, iscsiLUN(data, password)).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert: %v\n%s", err, out)
	}
	backing, err := os.ReadFile(filepath.Join(c.BackendDir("node1", "iscsi"), driver.StorageName(v.ID)))
	if err != nil || !bytes.HasPrefix(backing, []byte("written over iscsi by qemu-img")) {
		t.Errorf("the volume's file does not hold the bytes: %v %.40q", err, backing)
	}

	// tgtd loses the target (as in a restart) and an orphan target file is left: a restart of
	// the volume service restores the one and removes the other
	orphanID := uuid.NewString()
	orphanFile := filepath.Join(targetsDir, "tgt-"+driver.StorageName(orphanID)+".conf")
	orphanBacking := filepath.Join(t.TempDir(), "orphan")
	if err := os.WriteFile(orphanBacking, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(orphanFile, []byte(fmt.Sprintf("<target %s%s>\n    backing-store %s\n</target>\n", prefix, driver.StorageName(orphanID), orphanBacking)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(cluster.VolumeProcess("node1")); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tgt-admin", "--delete", iqn, "--force").CombinedOutput(); err != nil || strings.Contains(tgtTargets(t), iqn+"\n") {
		t.Fatalf("tgt-admin --delete: %v %s", err, out)
	}
	if err := c.Restart(cluster.VolumeProcess("node1")); err != nil {
		t.Fatal(err)
	}
	err = cluster.Poll(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, string, error) {
		_, statErr := os.Stat(orphanFile)
		back := strings.Contains(tgtTargets(t), iqn+"\n")
		return back && os.IsNotExist(statErr), fmt.Sprintf("target back %v, orphan file %v", back, statErr), nil
	})
	if err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	if out, err := readCapacity(password); err != nil {
		t.Errorf("the restored target refuses its credentials: %v\n%s", err, out)
	}

	// delete removes the target
	if err := cl.DeleteVolume(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	err = cluster.Poll(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, string, error) {
		_, gerr := cl.GetVolume(ctx, v.ID)
		return blockstorage.IsNotFound(gerr) && !strings.Contains(tgtTargets(t), iqn+"\n"), fmt.Sprintf("get: %v", gerr), nil
	})
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if entries, err := os.ReadDir(targetsDir); err != nil || len(entries) != 0 {
		t.Errorf("target files left: %v (%v)", entries, err)
	}
}

// TestISCSIAttachmentAPI is the API-driven path: an attachment created with a connector
// (3.54) answers iSCSI connection info with CHAP, which libiscsi logs into; complete makes the
// volume in-use; deleting the attachment removes the target, and the volume is available.
func TestISCSIAttachmentAPI(t *testing.T) {
	requireTGTD(t)
	prefix := "iqn.2010-10.org.scoria-e2e-" + uuid.NewString()[:8] + ":"
	c := startCluster(t, cluster.Options{Volumes: []cluster.VolumeSpec{{Host: "node1", Backends: []cluster.BackendSpec{{
		Name: "iscsi", Options: map[string]string{"target_helper": "tgtadm", "use_chap_auth": "true",
			"target_prefix": prefix, "volumes_dir": t.TempDir(), "target_ip_address": "127.0.0.1"},
	}}}}})
	cl := c.Client()
	ctx := ctxT(t, 3*time.Minute)
	v, err := cl.CreateVolume(ctx, blockstorage.CreateVolumeOpts{Name: "attach-iscsi", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, v.ID, "available")
	iqn := prefix + driver.StorageName(v.ID)

	mv := http.Header{"OpenStack-API-Version": {"volume 3.54"}, "Content-Type": {"application/json"}}
	body := fmt.Sprintf(`{"attachment": {"volume_uuid": %q, "instance_uuid": %q, "mode": "rw",
		"connector": {"initiator": "iqn.1993-08.org.debian:01:e2e", "ip": "127.0.0.1", "host": "e2e", "platform": "x86_64", "os_type": "linux2", "multipath": false}}}`,
		v.ID, uuid.NewString())
	resp, err := cl.Do(ctx, http.MethodPost, "/attachments", []byte(body), mv)
	if err != nil || resp.Status != http.StatusOK {
		t.Fatalf("attachment create: %v %+v", err, resp)
	}
	var created struct {
		Attachment struct {
			ID             string         `json:"id"`
			ConnectionInfo map[string]any `json:"connection_info"`
		} `json:"attachment"`
	}
	if err := json.Unmarshal(resp.Body, &created); err != nil {
		t.Fatal(err)
	}
	data := created.Attachment.ConnectionInfo
	password, _ := data["auth_password"].(string)
	if data["target_iqn"] != iqn || data["auth_method"] != "CHAP" || password == "" || data["access_mode"] != "rw" {
		t.Fatalf("connection info of the attachment: %s", resp.Body)
	}
	if out, err := exec.CommandContext(ctx, "iscsi-readcapacity16", iscsiLUN(data, password)).CombinedOutput(); err != nil ||
		!strings.Contains(string(out), fmt.Sprintf("Total size:%d", driver.GiB)) {
		t.Fatalf("iscsi-readcapacity16 with the attachment's credentials: %v\n%s", err, out)
	}
	id := created.Attachment.ID
	if resp, err := cl.Do(ctx, http.MethodPost, "/attachments/"+id+"/action", []byte(`{"os-complete": null}`), mv); err != nil || resp.Status != http.StatusNoContent {
		t.Fatalf("os-complete: %v %+v", err, resp)
	}
	waitStatus(t, c, v.ID, "in-use")
	if resp, err := cl.Do(ctx, http.MethodDelete, "/attachments/"+id, nil, mv); err != nil || resp.Status != http.StatusOK {
		t.Fatalf("attachment delete: %v %+v", err, resp)
	}
	waitStatus(t, c, v.ID, "available")
	if strings.Contains(tgtTargets(t), iqn) {
		t.Errorf("target %s still exported after its last attachment was deleted", iqn)
	}
}

// volumeBus is a client of the cluster's message bus (its own vhost), for calls the API would
// make to the volume service.
func volumeBus(t *testing.T, c *cluster.Cluster) rpc.Transport {
	t.Helper()
	u, err := url.Parse(cluster.ServersFromEnv().RabbitURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + c.Vhost()
	log := logrus.New()
	log.SetOutput(os.Stderr)
	tr, err := service.OpenTransport(u.String(), log)
	if err != nil {
		t.Fatalf("open the bus: %v", err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}
