package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"
	"github.com/scoria/scoria/internal/resource"
)

// TestVolumeProviderData: a volume's driver data shows only as Cinder shows it (provider_id,
// admins, from 3.21), and an admin's list filters by provider_id and provider_location.
func TestVolumeProviderData(t *testing.T) {
	e := newEnv(t)
	withData := e.createVolume(`{"volume": {"size": 1, "name": "a"}}`, "")
	without := e.createVolume(`{"volume": {"size": 1, "name": "b"}}`, "")
	p := resource.ProviderData{Location: "share1:/export/a", Auth: "CHAP user secret", ID: "lun-7"}
	if _, err := e.store.TransitionVolume(context.Background(), withData, []string{resource.StatusCreating},
		resource.VolumeChange{Status: resource.StatusAvailable, Provider: &p}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, path, ver string
		want            []string
	}{
		{"provider_id", "/v3/p1/volumes?provider_id=lun-7", "", []string{withData}},
		{"another provider_id", "/v3/p1/volumes?provider_id=lun-8", "", nil},
		{"provider_location", "/v3/p1/volumes?provider_location=share1:/export/a", "", []string{withData}},
		{"provider_location~", "/v3/p1/volumes?provider_location~=share1", "volume 3.34", []string{withData}},
		{"no filter", "/v3/p1/volumes", "", []string{without, withData}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(call{method: "GET", path: tc.path, version: tc.ver})
			wantStatus(t, rec, http.StatusOK)
			var got []string
			for _, v := range member(t, obj(t, rec), "volumes").([]any) {
				got = append(got, str(t, v, "id"))
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("listed %v, want %v", got, tc.want)
			}
		})
	}

	for _, tc := range []struct {
		name, id, ver string
		want          any // provider_id's value; absent when nil
		present       bool
	}{
		{"3.21: provider_id", withData, "volume 3.21", "lun-7", true},
		{"3.21, without data: null", without, "volume 3.21", nil, true},
		{"3.20: absent", withData, "volume 3.20", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(call{method: "GET", path: "/v3/p1/volumes/" + tc.id, version: tc.ver})
			wantStatus(t, rec, http.StatusOK)
			v := obj(t, rec)
			vol := member(t, v, "volume").(*wire.Object)
			got, has := vol.Get("provider_id")
			if has != tc.present || (has && got != tc.want) {
				t.Errorf("provider_id %v (present %v), want %v (present %v)", got, has, tc.want, tc.present)
			}
			for _, k := range []string{"provider_location", "provider_auth"} {
				if vol.Has(k) {
					t.Errorf("%s shown", k)
				}
			}
		})
	}
}
