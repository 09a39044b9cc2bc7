package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/noauth"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"

	"github.com/scoria/scoria/internal/resource"
)

// TestGophercloud drives the API with gophercloud's own Block Storage v3 client, noauth.
func TestGophercloud(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	srv := httptest.NewServer(e.h)
	defer srv.Close()

	provider, err := noauth.NewClient(gophercloud.AuthOptions{Username: testUser, TenantName: testProject})
	if err != nil {
		t.Fatal(err)
	}
	client, err := noauth.NewBlockStorageNoAuthV3(provider, noauth.EndpointOpts{CinderEndpoint: srv.URL + "/v3"})
	if err != nil {
		t.Fatal(err)
	}

	created, err := volumes.Create(ctx, client, volumes.CreateOpts{
		Size: 1, Name: "gc", Description: "from gophercloud", Metadata: map[string]string{"k": "v"},
	}, volumes.SchedulerHintOpts{DifferentHost: []string{"3a163127-2905-4cac-80bf-8d850c18bf22"}}).Extract()
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.Status != "creating" || created.Size != 1 || created.Name != "gc" || created.VolumeType != resource.DefaultVolumeTypeName ||
		created.Metadata["k"] != "v" || created.CreatedAt.IsZero() || !created.UpdatedAt.IsZero() || created.Bootable != "false" {
		t.Errorf("created %+v", created)
	}

	got, err := volumes.Get(ctx, client, created.ID).Extract()
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.ID != created.ID || got.TenantID != testProject || got.UserID != testUser || got.AvailabilityZone != "nova" {
		t.Errorf("got %+v", got)
	}

	second, err := volumes.Create(ctx, client, volumes.CreateOpts{Size: 2, Name: "gc2"}, nil).Extract()
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	pages, err := volumes.List(client, volumes.ListOpts{Limit: 1}).AllPages(ctx)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	all, err := volumes.ExtractVolumes(pages)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != second.ID || all[1].ID != created.ID {
		t.Errorf("listed %d volumes (limit 1 per page): %+v", len(all), all)
	}
	pages, err = volumes.List(client, volumes.ListOpts{Name: "gc2"}).AllPages(ctx)
	if err != nil {
		t.Fatalf("list by name: %v", err)
	}
	if byName, _ := volumes.ExtractVolumes(pages); len(byName) != 1 || byName[0].ID != second.ID {
		t.Errorf("by name: %+v", byName)
	}

	name, desc := "renamed", ""
	updated, err := volumes.Update(ctx, client, created.ID, volumes.UpdateOpts{Name: &name, Description: &desc}).Extract()
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if updated.Name != "renamed" || updated.Description != "" || updated.UpdatedAt.IsZero() {
		t.Errorf("updated %+v", updated)
	}

	// Refused while creating; accepted once a volume service owns it.
	err = volumes.Delete(ctx, client, created.ID, volumes.DeleteOpts{}).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Errorf("delete while creating: %v", err)
	}
	e.place(created.ID, "host1@lvm#pool", resource.StatusAvailable)
	if err := volumes.Delete(ctx, client, created.ID, volumes.DeleteOpts{Cascade: true}).ExtractErr(); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if v := e.volume(created.ID); v.Status != resource.StatusDeleting {
		t.Errorf("status %q after delete", v.Status)
	}

	_, err = volumes.Get(ctx, client, "00000000-0000-0000-0000-000000000000").Extract()
	var unexpected gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &unexpected) || unexpected.Actual != http.StatusNotFound {
		t.Errorf("get unknown: %v", err)
	}
}
