package api

import (
	"net/http"
	"testing"

	"github.com/scoria/scoria/internal/resource"
)

// TestTypeSizeBounds: a type's provisioning:min_vol_size and provisioning:max_vol_size bound
// the size of its volumes at create, extend and retype, with Cinder's words; nothing is
// written when they refuse.
func TestTypeSizeBounds(t *testing.T) {
	e := sourcesEnv(t)
	const (
		bounded = "9b2c2f52-0000-4000-8000-00000000b001"
		broken  = "9b2c2f52-0000-4000-8000-00000000b002"
	)
	e.addVolumeType(bounded, "bounded")
	e.addExtraSpec(bounded, specMinSize, "2")
	e.addExtraSpec(bounded, specMaxSize, "4")
	e.addVolumeType(broken, "broken")
	e.addExtraSpec(broken, specMaxSize, "lots")
	action := func(id string) string { return "/v3/p1/volumes/" + id + "/action" }

	tooSmall := "Invalid input received: Specified volume size of '1' is less than the minimum required size of '2' for volume type 'bounded'."
	tooBig := func(n string) string {
		return "Invalid input received: Specified volume size of '" + n + "' is greater than the maximum allowable size of '4' for volume type 'bounded'."
	}
	for _, c := range []struct {
		name, body string
		status     int
		message    string
	}{
		{"below the minimum", `{"volume": {"size": 1, "volume_type": "bounded"}}`, 400, tooSmall},
		{"above the maximum", `{"volume": {"size": 5, "volume_type": "bounded"}}`, 400, tooBig("5")},
		{"at the minimum", `{"volume": {"size": 2, "volume_type": "bounded"}}`, 202, ""},
		{"at the maximum", `{"volume": {"size": 4, "volume_type": "bounded"}}`, 202, ""},
		{"a bound that is not a number", `{"volume": {"size": 1, "volume_type": "broken"}}`, 400,
			"Invalid input received: Volume type 'broken' has provisioning:max_vol_size 'lots', which is not an integer."},
	} {
		t.Run("create "+c.name, func(t *testing.T) {
			before := len(e.volumes())
			rec := e.do(call{method: "POST", path: "/v3/p1/volumes", body: c.body})
			if c.status != http.StatusAccepted {
				wantFault(t, rec, c.status, "badRequest", c.message)
				if n := len(e.volumes()); n != before {
					t.Errorf("%d volumes after a refused create, want %d", n, before)
				}
				return
			}
			wantStatus(t, rec, c.status)
		})
	}

	t.Run("extend past the maximum", func(t *testing.T) {
		id := e.claimedVolume(3, resource.StatusAvailable, "")
		if _, err := e.raw.Exec(`UPDATE volumes SET volume_type_id = ? WHERE id = ?`, bounded, id); err != nil {
			t.Fatal(err)
		}
		wantFault(t, e.do(call{method: "POST", path: action(id), body: `{"os-extend": {"new_size": 5}}`}), 400, "badRequest", tooBig("5"))
		if v := e.volume(id); v.Status != resource.StatusAvailable || v.Size != 3 {
			t.Errorf("after a refused extend: %s, %d GiB", v.Status, v.Size)
		}
		wantStatus(t, e.do(call{method: "POST", path: action(id), body: `{"os-extend": {"new_size": 4}}`}), http.StatusAccepted)
	})

	t.Run("retype to a type the volume is too small for", func(t *testing.T) {
		id := e.claimedVolume(1, resource.StatusAvailable, "")
		typeBefore := e.volume(id).VolumeTypeID
		wantFault(t, e.do(call{method: "POST", path: action(id), body: `{"os-retype": {"new_type": "bounded"}}`}), 400, "badRequest", tooSmall)
		if v := e.volume(id); v.VolumeTypeID != typeBefore || v.Status != resource.StatusAvailable {
			t.Errorf("after a refused retype: type %s, %s", v.VolumeTypeID, v.Status)
		}
	})
}
