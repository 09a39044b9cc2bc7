package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/noauth"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"

	"github.com/scoria/scoria/test/cluster"
)

// waitVolume polls `cinder show` until the volume's status is want.
func waitVolume(t *testing.T, cli cinderCLI, id, want string) map[string]string {
	t.Helper()
	var shown map[string]string
	err := cluster.Poll(context.Background(), 90*time.Second, 250*time.Millisecond, func() (bool, string, error) {
		out, err := cli.run("show", id)
		if err != nil {
			return false, err.Error(), nil
		}
		shown = parseProperties(out)
		return shown["status"] == want, "status " + shown["status"], nil
	})
	if err != nil {
		t.Fatalf("volume %s never %s: %v", id, want, err)
	}
	return shown
}

func attachCLI(t *testing.T, c *cluster.Cluster, version string) cinderCLI {
	path, err := exec.LookPath("cinder")
	if err != nil {
		unavailable(t, "the cinder CLI is not installed (Debian python3-cinderclient)")
	}
	return cinderCLI{t: t, path: path, endpoint: c.Endpoint(), version: version, home: t.TempDir()}
}

func gopherClient(t *testing.T, c *cluster.Cluster) *gophercloud.ServiceClient {
	provider, err := noauth.NewClient(gophercloud.AuthOptions{Username: "demo", TenantName: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	client, err := noauth.NewBlockStorageNoAuthV3(provider, noauth.EndpointOpts{CinderEndpoint: c.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// TestAttachCLI drives the attachments API with the real cinder CLI.
func TestAttachCLI(t *testing.T) {
	requireServers(t)
	c := startCluster(t, cluster.Options{})
	cli := attachCLI(t, c, "3.54")
	const server = "11111111-2222-3333-4444-555555555555"

	id := parseProperties(cli.must("create", "--name", "att", "1"))["id"]
	waitVolume(t, cli, id, "available")

	// Without a connector: reserved, then connected by attachment-update... here completed.
	att := parseProperties(cli.must("attachment-create", id, server))
	if att["status"] != "reserved" || !uuidRE.MatchString(att["id"]) {
		t.Fatalf("attachment-create: %v", att)
	}
	if shown := waitVolume(t, cli, id, "reserved"); shown["status"] != "reserved" {
		t.Errorf("volume after attachment-create: %v", shown)
	}
	if _, err := cli.run("attachment-create", id, server); err == nil {
		t.Errorf("a second attachment of a non-multiattach volume was accepted")
	}
	shown := parseProperties(cli.must("attachment-show", att["id"]))
	if shown["volume_id"] != id || shown["instance"] != server {
		t.Errorf("attachment-show: %v", shown)
	}
	listed := false
	for _, rec := range parseTable(cli.must("attachment-list")) {
		listed = listed || rec["ID"] == att["id"]
	}
	if !listed {
		t.Errorf("attachment-list does not show %s", att["id"])
	}
	cli.must("attachment-delete", att["id"])
	waitVolume(t, cli, id, "available")

	// With --connect and connector flags: connection info from the volume service.
	att = parseProperties(cli.must("attachment-create", "--connect", "True", "--initiator", "iqn.1993-08.org.debian:01:e2e",
		"--ip", "127.0.0.1", "--host", "compute-1", "--platform", "x86_64", "--ostype", "linux", "--mode", "rw", id, server))
	if att["status"] != "attaching" || att["driver_volume_type"] != "local" || att["device_path"] == "" {
		t.Fatalf("attachment-create --connect: %v", att)
	}
	cli.must("attachment-complete", att["id"])
	vol := waitVolume(t, cli, id, "in-use")
	if !strings.Contains(vol["attached_servers"]+vol["attachment_ids"], server) && !strings.Contains(cli.must("show", id), server) {
		t.Errorf("volume does not show its server: %v", vol)
	}
	cli.must("attachment-delete", att["id"])
	waitVolume(t, cli, id, "available")

	// Read-only: the attachment is ro.
	cli.must("readonly-mode-update", id, "True")
	att = parseProperties(cli.must("attachment-create", "--connect", "True", "--host", "compute-1", id, server))
	if att["attach_mode"] != "ro" || att["access_mode"] != "ro" {
		t.Errorf("read-only attachment: %v", att)
	}
	cli.must("attachment-complete", att["id"])
	waitVolume(t, cli, id, "in-use")

	// reset-state --attach-status, then clean up with attachment-delete.
	cli.must("reset-state", "--state", "available", "--attach-status", "detached", id)
	vol = waitVolume(t, cli, id, "available")
	cli.must("attachment-delete", att["id"])
	vol = waitVolume(t, cli, id, "available")
	cli.must("readonly-mode-update", id, "False")
	cli.must("delete", id)
}

// TestAttachLegacyGophercloud drives the legacy actions with gophercloud, and force detach.
func TestAttachLegacyGophercloud(t *testing.T) {
	requireServers(t)
	c := startCluster(t, cluster.Options{})
	client := gopherClient(t, c)
	ctx := ctxT(t, 2*time.Minute)
	cli := attachCLI(t, c, "3.54")
	v, err := volumes.Create(ctx, client, volumes.CreateOpts{Size: 1, Name: "legacy"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitVolume(t, cli, v.ID, "available")
	if err := volumes.Reserve(ctx, client, v.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitVolume(t, cli, v.ID, "attaching")
	info, err := volumes.InitializeConnection(ctx, client, v.ID, volumes.InitializeConnectionOpts{
		IP: "127.0.0.1", Host: "compute-1", Initiator: "iqn.1993-08.org.debian:01:e2e", Platform: "x86_64", OSType: "linux",
	}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if info["driver_volume_type"] != "local" {
		t.Errorf("connection info %v", info)
	}
	if err := volumes.Attach(ctx, client, v.ID, volumes.AttachOpts{InstanceUUID: "11111111-2222-3333-4444-555555555555", MountPoint: "/dev/vdb", Mode: volumes.ReadWrite}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitVolume(t, cli, v.ID, "in-use")
	got, err := volumes.Get(ctx, client, v.ID).Extract()
	if err != nil || len(got.Attachments) != 1 {
		t.Fatalf("attachments %+v, %v", got, err)
	}
	if err := volumes.BeginDetaching(ctx, client, v.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitVolume(t, cli, v.ID, "detaching")
	if err := volumes.TerminateConnection(ctx, client, v.ID, volumes.TerminateConnectionOpts{Host: "compute-1", IP: "127.0.0.1"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := volumes.Detach(ctx, client, v.ID, volumes.DetachOpts{AttachmentID: got.Attachments[0].AttachmentID}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitVolume(t, cli, v.ID, "available")

	// Force detach (gophercloud has no helper for os-force_detach: the raw action).
	if err := volumes.Reserve(ctx, client, v.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := volumes.InitializeConnection(ctx, client, v.ID, volumes.InitializeConnectionOpts{Host: "compute-1"}).Extract(); err != nil {
		t.Fatal(err)
	}
	if err := volumes.Attach(ctx, client, v.ID, volumes.AttachOpts{HostName: "compute-1"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitVolume(t, cli, v.ID, "in-use")
	resp, err := client.Post(ctx, client.ServiceURL("volumes", v.ID, "action"),
		map[string]any{"os-force_detach": map[string]any{"connector": map[string]any{"host": "compute-1"}}}, nil,
		&gophercloud.RequestOpts{OkCodes: []int{202}})
	if err != nil {
		t.Fatalf("force detach: %v", err)
	}
	resp.Body.Close()
	waitVolume(t, cli, v.ID, "available")
	if err := volumes.Delete(ctx, client, v.ID, nil).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}

// TestAttachVolumeServiceKilled kills -9 the volume service between reserve and complete;
// after its restart nothing stays stuck: the attachment sweeper (age 3s here) resolves the
// attachment and the volume is available again.
func TestAttachVolumeServiceKilled(t *testing.T) {
	requireServers(t)
	c := startCluster(t, cluster.Options{Extra: map[string]string{"attachment_sweep_age": "3", "attachment_sweep_interval": "1"}})
	cli := attachCLI(t, c, "3.54")
	id := parseProperties(cli.must("create", "--name", "crash", "1"))["id"]
	waitVolume(t, cli, id, "available")
	att := parseProperties(cli.must("attachment-create", "--connect", "True", "--host", "compute-1", id, "11111111-2222-3333-4444-555555555555"))
	if att["status"] != "attaching" {
		t.Fatalf("attachment %v", att)
	}
	if err := c.Kill(cluster.VolumeProcess("node1")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if err := c.Restart(cluster.VolumeProcess("node1")); err != nil {
		t.Fatal(err)
	}
	waitVolume(t, cli, id, "available")
	if _, err := cli.run("attachment-show", att["id"]); err == nil {
		t.Errorf("attachment %s left after recovery", att["id"])
	}
	cli.must("delete", id)
}
