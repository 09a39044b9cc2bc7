package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/noauth"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"

	"github.com/scoria/scoria/test/cluster"
)

// TestGophercloudConcurrentCreates creates 20 volumes at once through gophercloud on two
// volume services, checks each file where os-vol-host-attr:host says, and deletes them all.
func TestGophercloudConcurrentCreates(t *testing.T) {
	c := startCluster(t, cluster.Options{VolumeHosts: []string{"node1", "node2"}})
	provider, err := noauth.NewClient(gophercloud.AuthOptions{Username: "demo", TenantName: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	client, err := noauth.NewBlockStorageNoAuthV3(provider, noauth.EndpointOpts{CinderEndpoint: c.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	if want := c.Endpoint() + "/demo/"; client.Endpoint != want {
		t.Fatalf("noauth endpoint %q, want %q", client.Endpoint, want)
	}
	ctx := ctxT(t, 3*time.Minute)

	const n = 20
	size := func(i int) int { return 1 + i%5/4 } // every fifth volume is 2 GiB
	created := make([]*volumes.Volume, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			opts := volumes.CreateOpts{Size: size(i), Name: fmt.Sprintf("gc-%02d", i), Metadata: map[string]string{"test": "gophercloud"}}
			created[i], errs[i] = volumes.Create(ctx, client, opts, nil).Extract()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("creates: %v", err)
	}
	want := map[string]int{} // id → size
	for i, v := range created {
		want[v.ID] = size(i)
		if v.Size != size(i) || v.Name != fmt.Sprintf("gc-%02d", i) || v.Metadata["test"] != "gophercloud" {
			t.Errorf("create answered %+v", *v)
		}
	}

	// Wait on the list, as a dashboard would, until all are available.
	err = cluster.Poll(ctx, 90*time.Second, 200*time.Millisecond, func() (bool, string, error) {
		pages, err := volumes.List(client, volumes.ListOpts{}).AllPages(ctx)
		if err != nil {
			return false, "", fmt.Errorf("list: %w", err)
		}
		vols, err := volumes.ExtractVolumes(pages)
		if err != nil {
			return false, "", fmt.Errorf("extract list: %w", err)
		}
		counts := map[string]int{}
		for _, v := range vols {
			if _, ours := want[v.ID]; ours {
				counts[v.Status]++
			}
			if v.Status == "error" {
				return false, "", fmt.Errorf("volume %s went to error", v.ID)
			}
		}
		return counts["available"] == n, fmt.Sprintf("statuses %v of %d listed", counts, len(vols)), nil
	})
	if err != nil {
		t.Fatalf("volumes not all available: %v", err)
	}

	perHost := map[string]int{}
	for id, sz := range want {
		v, err := volumes.Get(ctx, client, id).Extract()
		if err != nil {
			t.Fatalf("get %s: %v", id, err)
		}
		host := cluster.HostOfVolume(v.Host)
		if v.Status != "available" || v.Size != sz || (host != "node1" && host != "node2") {
			t.Errorf("volume %s: status %s size %d host %q", id, v.Status, v.Size, v.Host)
			continue
		}
		perHost[v.Host]++
		checkVolumeFile(t, c, host, id, sz)
	}
	t.Logf("placement: %v", perHost)

	for id := range want {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := volumes.Delete(ctx, client, id, volumes.DeleteOpts{}).ExtractErr(); err != nil {
				t.Errorf("delete %s: %v", id, err)
			}
		}()
	}
	wg.Wait()
	gone := map[string]bool{}
	err = cluster.Poll(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, string, error) {
		var left []string
		for id := range want {
			if gone[id] {
				continue
			}
			v, err := volumes.Get(ctx, client, id).Extract()
			switch {
			case gophercloud.ResponseCodeIs(err, http.StatusNotFound):
				gone[id] = true
			case err != nil:
				return false, "", fmt.Errorf("get %s: %w", id, err)
			default:
				left = append(left, v.ID+" "+v.Status)
			}
		}
		sort.Strings(left)
		return len(left) == 0, fmt.Sprintf("still there: %v", left), nil
	})
	if err != nil {
		t.Fatalf("deleted volumes still answer: %v", err)
	}
	checkNoVolumeFiles(t, c)
}
