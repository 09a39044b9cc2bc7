package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/noauth"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"

	"github.com/scoria/scoria/test/cluster"
)

// TestSources drives creates from a snapshot and from a volume, os-extend and os-retype with
// the real cinder CLI and gophercloud on two volume services, and checks what the API and the
// scheduler do: a volume made from a source lands on the source's pool with a capacity claim
// (never on the other backend), an extend claims its growth and casts to the backend, a
// retype stays in place, and the refusals answer Cinder's 4xx.
// TestSourcesStorage follows a clone and an extend to the end on the storage.
func TestSources(t *testing.T) {
	requireServers(t)
	path, err := exec.LookPath("cinder")
	if err != nil {
		unavailable(t, "the cinder CLI is not installed (Debian python3-cinderclient)")
	}
	c := startCluster(t, cluster.Options{VolumeHosts: []string{"node1", "node2"}})
	cli := cinderCLI{t: t, path: path, endpoint: c.Endpoint(), home: t.TempDir()}
	ctx := ctxT(t, 5*time.Minute)
	db := c.DB()

	src := parseProperties(cli.must("create", "--name", "src", "2"))["id"]
	host := waitStatus(t, c, src, "available")
	t.Logf("source volume %s on %s", src, host)

	// A snapshot of it, through the API; the volume service makes its file.
	snap := parseProperties(cli.must("snapshot-create", "--name", "src-snap", src))["id"]
	cliWaitStatus(t, cli, "snapshot-show", snap, "available")

	t.Run("from a snapshot, with the cinder CLI: the snapshot's pool and a claim", func(t *testing.T) {
		for i := range 4 { // the other backend would win about half of ordinary placements
			created := parseProperties(cli.must("create", "--snapshot-id", snap, "--name", fmt.Sprintf("from-snap-%d", i)))
			if created["snapshot_id"] != snap || created["size"] != "2" {
				t.Errorf("cinder create --snapshot-id printed snapshot_id %q size %q", created["snapshot_id"], created["size"])
			}
			checkPlaced(t, db, created["id"], host, 2)
		}
	})
	t.Run("a clone, with the cinder CLI", func(t *testing.T) {
		for i := range 4 {
			created := parseProperties(cli.must("create", "--source-volid", src, "--name", fmt.Sprintf("clone-%d", i), "3"))
			if created["source_volid"] != src || created["size"] != "3" {
				t.Errorf("cinder create --source-volid printed source_volid %q size %q", created["source_volid"], created["size"])
			}
			checkPlaced(t, db, created["id"], host, 3)
		}
	})
	t.Run("refusals, with the cinder CLI", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"create", "--source-volid", src, "1"}, "Volume size '1'GB cannot be smaller than original volume size  2GB. They must be >= original volume size. (HTTP 400)"},
			{[]string{"create", "--snapshot-id", snap, "1"}, "Volume size '1'GB cannot be smaller than the snapshot size 2GB. They must be >= original snapshot size. (HTTP 400)"},
			{[]string{"create", "--snapshot-id", uuid.NewString()}, "could not be found. (HTTP 404)"},
			{[]string{"extend", src, "2"}, "New size for extend must be greater than current size. (current: 2, extended: 2). (HTTP 400)"},
		} {
			out, err := cli.run(tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("cinder %v: %v (stdout %s), want an error saying %q", tc.args, err, out, tc.want)
			}
		}
	})

	provider, err := noauth.NewClient(gophercloud.AuthOptions{Username: "demo", TenantName: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	gc, err := noauth.NewBlockStorageNoAuthV3(provider, noauth.EndpointOpts{CinderEndpoint: c.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	gc.Microversion = "3.42"

	t.Run("a clone, with gophercloud", func(t *testing.T) {
		v, err := volumes.Create(ctx, gc, volumes.CreateOpts{SourceVolID: src, Name: "gc-clone"}, nil).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if v.SourceVolID != src || v.Size != 2 {
			t.Errorf("create answered source_volid %q size %d", v.SourceVolID, v.Size)
		}
		checkPlaced(t, db, v.ID, host, 2)
	})

	t.Run("retype in place; a type that needs a move is refused", func(t *testing.T) {
		if _, err := c.CreateVolumeType(ctx, "plain", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateVolumeType(ctx, "elsewhere", map[string]string{"volume_backend_name": "nope"}); err != nil {
			t.Fatal(err)
		}
		cli.must("retype", src, "plain") // cinderclient sends migration_policy "never"
		if got := parseProperties(cli.must("show", src)); got["volume_type"] != "plain" || got["status"] != "available" {
			t.Errorf("after cinder retype: type %q status %q", got["volume_type"], got["status"])
		}
		out, err := cli.run("retype", "--migration-policy", "on-demand", src, "elsewhere")
		if err == nil || !strings.Contains(err.Error(), "Scoria does not migrate volumes yet. (HTTP 400)") {
			t.Errorf("cinder retype to a type that needs a move: %v (stdout %s)", err, out)
		}
		err = volumes.ChangeType(ctx, gc, src, volumes.ChangeTypeOpts{NewType: "elsewhere", MigrationPolicy: volumes.MigrationPolicyNever}).ExtractErr()
		if !gophercloud.ResponseCodeIs(err, 400) || !strings.Contains(err.Error(), "No valid backend was found. Cannot place volume") {
			t.Errorf("gophercloud retype to a type that needs a move: %v", err)
		}
	})

	t.Run("extend: growth claimed, cast to the backend", func(t *testing.T) {
		before := poolAllocated(t, db, host)
		if err := volumes.ExtendSize(ctx, gc, src, volumes.ExtendSizeOpts{NewSize: 5}).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		var status string
		var claimed int
		if err := db.QueryRowContext(ctx, "SELECT status, claimed_gb FROM volumes WHERE id = ?", src).Scan(&status, &claimed); err != nil {
			t.Fatal(err)
		}
		if claimed != 5 || (status != "extending" && status != "available") {
			t.Errorf("after extend: status %s, claimed_gb %d; want extending (or done) with 5", status, claimed)
		}
		if after := poolAllocated(t, db, host); after != before+3 {
			t.Errorf("pool %s allocated %d GiB, want %d", host, after, before+3)
		}
		// Far beyond the pool: as Cinder (its scheduler refuses the growth after the 202),
		// 202, the volume as it was, and a user message "extend volume:…" saying why.
		waitStatus(t, c, src, "available")
		if err := volumes.ExtendSize(ctx, gc, src, volumes.ExtendSizeOpts{NewSize: 100000}).ExtractErr(); err != nil {
			t.Fatalf("extend far beyond the pool: %v, want 202", err)
		}
		var size int
		if err := db.QueryRowContext(ctx, "SELECT status, size, claimed_gb FROM volumes WHERE id = ?", src).Scan(&status, &size, &claimed); err != nil {
			t.Fatal(err)
		}
		if status != "available" || size != 5 || claimed != 5 {
			t.Errorf("after an extend the pool cannot hold: %s, %d GiB, claimed %d; want available, 5, 5", status, size, claimed)
		}
		var detail string
		if err := db.QueryRowContext(ctx, "SELECT detail FROM messages WHERE resource_uuid = ? AND action_id = '007' AND detail_id = '003' AND deleted = 0", src).Scan(&detail); err != nil {
			t.Errorf("no extend user message for %s: %v", src, err)
		} else if !strings.Contains(detail, "cannot hold 99995 GiB more") {
			t.Errorf("extend user message %q, want the pool's reason", detail)
		}
	})
}

// TestSourcesStorage follows a clone and an extend to the end: the volume service makes the
// clone from its source (driver.Cloner) and grows the volume (driver.Extender).
func TestSourcesStorage(t *testing.T) {
	requireServers(t)
	c := startCluster(t, cluster.Options{})
	provider, err := noauth.NewClient(gophercloud.AuthOptions{Username: "demo", TenantName: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	gc, err := noauth.NewBlockStorageNoAuthV3(provider, noauth.EndpointOpts{CinderEndpoint: c.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 3*time.Minute)
	src, err := volumes.Create(ctx, gc, volumes.CreateOpts{Size: 1, Name: "src"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	host := waitStatus(t, c, src.ID, "available")
	clone, err := volumes.Create(ctx, gc, volumes.CreateOpts{SourceVolID: src.ID, Size: 2}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if got := waitStatus(t, c, clone.ID, "available"); got != host {
		t.Errorf("clone on %s, want %s", got, host)
	}
	checkVolumeFile(t, c, "node1", clone.ID, 2)
	if err := volumes.ExtendSize(ctx, gc, src.ID, volumes.ExtendSizeOpts{NewSize: 3}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, src.ID, "available")
	if v, err := volumes.Get(ctx, gc, src.ID).Extract(); err != nil || v.Size != 3 {
		t.Errorf("after the extend: %+v, %v; want 3 GiB", v, err)
	}
	checkVolumeFile(t, c, "node1", src.ID, 3)
	if a := poolAllocated(t, c.DB(), host); a != 5 {
		t.Errorf("pool %s allocated %d GiB, want 5", host, a)
	}
}

// waitStatus waits until volume id has status and returns its host.
func waitStatus(t *testing.T, c *cluster.Cluster, id, status string) string {
	t.Helper()
	var host sql.NullString
	err := cluster.Poll(context.Background(), 60*time.Second, 100*time.Millisecond, func() (bool, string, error) {
		var s string
		if err := c.DB().QueryRow("SELECT status, host FROM volumes WHERE id = ?", id).Scan(&s, &host); err != nil {
			return false, "", err
		}
		if s == "error" && status != "error" {
			return false, "", errors.New("volume went to error")
		}
		return s == status, "status " + s, nil
	})
	if err != nil {
		t.Fatalf("volume %s: %v", id, err)
	}
	return host.String
}

// checkPlaced waits until volume id has a host and checks that it is pool, with a claim of
// size GiB.
func checkPlaced(t *testing.T, db *sql.DB, id, pool string, size int) {
	t.Helper()
	var (
		host   sql.NullString
		claim  int
		status string
	)
	err := cluster.Poll(context.Background(), 60*time.Second, 100*time.Millisecond, func() (bool, string, error) {
		if err := db.QueryRow("SELECT host, claimed_gb, status FROM volumes WHERE id = ?", id).Scan(&host, &claim, &status); err != nil {
			return false, "", err
		}
		return host.Valid, "status " + status, nil
	})
	if err != nil {
		t.Fatalf("volume %s never placed: %v", id, err)
	}
	if host.String != pool || claim != size || status == "error" {
		t.Errorf("volume %s placed on %s with a claim of %d GiB (%s), want %s with %d", id, host.String, claim, status, pool, size)
	}
}

func poolAllocated(t *testing.T, db *sql.DB, pool string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT allocated_gb FROM pools WHERE name = ?", pool).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
