package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/resource"
)

func TestVolumeTypeEncryptionCRUD(t *testing.T) {
	e := newEnv(t)
	const typeID = "33333333-0000-0000-0000-000000000001"
	e.addVolumeType(typeID, "luks")
	p := "/v3/" + testProject + "/types/" + typeID + "/encryption"
	var encID string
	runSteps(t, e, []step{
		// Horizon's probe: no microversion, a type without encryption.
		{name: "show none", c: call{method: "GET", path: p}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if len(o.Keys) != 0 {
				t.Fatalf("show without encryption: keys %v, want {}", o.Keys)
			}
		}},
		{name: "show item none", c: call{method: "GET", path: p + "/provider"}, status: 404,
			fault: "Volume type encryption for type " + typeID + " does not exist."},
		{name: "show missing type", c: call{method: "GET", path: "/v3/" + testProject + "/types/nope/encryption"}, status: 404,
			fault: "Volume type nope could not be found."},
		{name: "create", c: call{method: "POST", path: p, body: `{"encryption": {"key_size": "256", "provider": "luks", "control_location": "front-end", "cipher": "aes-xts-plain64"}}`},
			status: 200, check: func(t *testing.T, o *wire.Object) {
				enc := member(t, o, "encryption")
				sameKeys(t, "created", encKeys(t, enc), []string{"cipher", "control_location", "encryption_id", "key_size", "provider", "volume_type_id"})
				if member(t, enc, "key_size") != json.Number("256") || str(t, enc, "volume_type_id") != typeID {
					t.Fatalf("created %s", wire.PyRepr(enc))
				}
				encID = str(t, enc, "encryption_id")
			}},
		{name: "create again", c: call{method: "POST", path: p, body: `{"encryption": {"provider": "luks", "control_location": "front-end"}}`},
			status: 400, fault: "Volume type encryption for type " + typeID + " already exists."},
		{name: "create for missing type", c: call{method: "POST", path: "/v3/" + testProject + "/types/nope/encryption", body: `{"encryption": {"provider": "luks", "control_location": "front-end"}}`},
			status: 404, fault: "Volume type nope could not be found."},
		{name: "show", c: call{method: "GET", path: p}, status: 200, check: func(t *testing.T, o *wire.Object) {
			sameKeys(t, "show", encKeys(t, o), []string{"cipher", "control_location", "created_at", "deleted", "deleted_at",
				"encryption_id", "key_size", "provider", "updated_at", "volume_type_id"})
			if str(t, o, "encryption_id") != encID || str(t, o, "cipher") != "aes-xts-plain64" || member(t, o, "deleted") != false {
				t.Fatalf("show %s", wire.PyRepr(o))
			}
		}},
		{name: "show item", c: call{method: "GET", path: p + "/cipher"}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if len(o.Keys) != 1 || str(t, o, "cipher") != "aes-xts-plain64" {
				t.Fatalf("show item %s", wire.PyRepr(o))
			}
		}},
		{name: "show unknown item", c: call{method: "GET", path: p + "/colour"}, status: 404,
			fault: "Volume type encryption for type " + typeID + " does not exist."},
		{name: "update", c: call{method: "PUT", path: p + "/whatever", body: `{"encryption": {"key_size": 512, "cipher": null}}`},
			status: 200, check: func(t *testing.T, o *wire.Object) {
				sameKeys(t, "updated", encKeys(t, member(t, o, "encryption")), []string{"cipher", "key_size"})
			}},
		{name: "show updated", c: call{method: "GET", path: p}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if member(t, o, "key_size") != json.Number("512") || member(t, o, "cipher") != nil || member(t, o, "updated_at") == nil ||
				str(t, o, "provider") != "luks" {
				t.Fatalf("after update %s", wire.PyRepr(o))
			}
		}},
		{name: "delete", c: call{method: "DELETE", path: p + "/ignored-by-cinder"}, status: 202},
		{name: "show deleted", c: call{method: "GET", path: p}, status: 200, check: func(t *testing.T, o *wire.Object) {
			if len(o.Keys) != 0 {
				t.Fatalf("after delete %s, want {}", wire.PyRepr(o))
			}
		}},
		{name: "delete again", c: call{method: "DELETE", path: p + "/ignored-by-cinder"}, status: 404,
			fault: "Volume type encryption for type " + typeID + " does not exist."},
		{name: "update none", c: call{method: "PUT", path: p + "/x", body: `{"encryption": {"provider": "luks"}}`}, status: 404,
			fault: "Volume type encryption for type " + typeID + " does not exist."},
		{name: "member may not show", c: call{method: "GET", path: "/v3/p2/types/" + typeID + "/encryption", token: tokenP2, header: memberP2}, status: 403,
			fault: "Policy doesn't allow volume_extension:volume_type_encryption:get to be performed."},
		{name: "member may not create", c: call{method: "POST", path: "/v3/p2/types/" + typeID + "/encryption", token: tokenP2, header: memberP2,
			body: `{"encryption": {"provider": "luks", "control_location": "front-end"}}`}, status: 403,
			fault: "Policy doesn't allow volume_extension:volume_type_encryption:create to be performed."},
	})
}

func TestVolumeTypeEncryptionValidation(t *testing.T) {
	e := newEnv(t)
	const typeID = "33333333-0000-0000-0000-000000000002"
	e.addVolumeType(typeID, "v")
	p := "/v3/" + testProject + "/types/" + typeID + "/encryption"
	for _, c := range []struct {
		name, method, body, want string
	}{
		{"no body", "POST", ``, "None is not of type 'object'"},
		{"no encryption", "POST", `{}`, "'encryption' is a required property"},
		{"extra member", "POST", `{"encryption": {"provider": "p", "control_location": "front-end"}, "x": 1}`,
			"Additional properties are not allowed ('x' was unexpected)"},
		{"encryption not an object", "POST", `{"encryption": "luks"}`,
			"Invalid input for field/attribute encryption. Value: luks. 'luks' is not of type 'object'"},
		{"no provider", "POST", `{"encryption": {"control_location": "front-end"}}`,
			"Invalid input for field/attribute encryption. Value: {'control_location': 'front-end'}. 'provider' is a required property"},
		{"no control_location", "POST", `{"encryption": {"provider": "luks"}}`,
			"Invalid input for field/attribute encryption. Value: {'provider': 'luks'}. 'control_location' is a required property"},
		{"bad control_location", "POST", `{"encryption": {"provider": "luks", "control_location": "middle"}}`,
			"Invalid input for field/attribute control_location. Value: middle. 'middle' is not one of ['front-end', 'back-end']"},
		{"provider not a string", "POST", `{"encryption": {"provider": 1, "control_location": "front-end"}}`,
			"Invalid input for field/attribute provider. Value: 1. 1 is not of type 'string'"},
		{"key_size word", "POST", `{"encryption": {"provider": "luks", "control_location": "front-end", "key_size": "big"}}`,
			"Invalid input received: key_size must be an integer."},
		{"key_size fraction", "POST", `{"encryption": {"provider": "luks", "control_location": "front-end", "key_size": 1.5}}`,
			"Invalid input for field/attribute key_size. Value: 1.5. 1.5 is not of type 'string', 'integer', 'null'"},
		{"key_size negative", "POST", `{"encryption": {"provider": "luks", "control_location": "front-end", "key_size": -1}}`,
			"Invalid input for field/attribute key_size. Value: -1. -1 is less than the minimum of 0"},
		{"key_size negative string", "POST", `{"encryption": {"provider": "luks", "control_location": "front-end", "key_size": "-8"}}`,
			"Invalid input for field/attribute key_size. Value: -8. -8 is less than the minimum of 0"},
		{"key_size too big", "POST", `{"encryption": {"provider": "luks", "control_location": "front-end", "key_size": 2147483648}}`,
			"Invalid input for field/attribute key_size. Value: 2147483648. 2147483648 is greater than the maximum of 2147483647"},
		{"cipher not a string", "POST", `{"encryption": {"provider": "luks", "control_location": "front-end", "cipher": 5}}`,
			"Invalid input for field/attribute cipher. Value: 5. 5 is not of type 'string', 'null'"},
		{"update no encryption", "PUT", `{}`, "'encryption' is a required property"},
		{"update bad control_location", "PUT", `{"encryption": {"control_location": null}}`,
			"Invalid input for field/attribute control_location. Value: None. None is not one of ['front-end', 'back-end']"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := p
			if c.method == "PUT" {
				path += "/x"
			}
			rec := e.do(call{method: c.method, path: path, body: c.body})
			wantFault(t, rec, http.StatusBadRequest, "badRequest", c.want)
		})
	}
}

// TestVolumeTypeEncryptionInUse: no change while a volume of the type exists, with Cinder's
// words for each.
func TestVolumeTypeEncryptionInUse(t *testing.T) {
	e := newEnv(t)
	const typeID = "33333333-0000-0000-0000-000000000003"
	e.addVolumeType(typeID, "used")
	p := "/v3/" + testProject + "/types/" + typeID + "/encryption"
	wantStatus(t, e.do(call{method: "POST", path: p, body: `{"encryption": {"provider": "luks", "control_location": "front-end"}}`}), 200)
	v := &resource.Volume{ProjectID: testProject, UserID: testUser, Size: 1, Status: resource.StatusAvailable,
		VolumeTypeID: typeID, EncryptionKeyID: "11111111-2222-3333-4444-555555555555", Metadata: map[string]string{}}
	if _, err := e.store.CreateVolume(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path, body, want string }{
		{"POST", p, `{"encryption": {"provider": "luks", "control_location": "front-end"}}`, "Cannot create encryption specs. Volume type in use."},
		{"PUT", p + "/x", `{"encryption": {"provider": "luks"}}`, "Cannot update encryption specs. Volume type in use."},
		{"DELETE", p + "/x", ``, "Cannot delete encryption specs. Volume type in use."},
	} {
		wantFault(t, e.do(call{method: c.method, path: c.path, body: c.body}), http.StatusBadRequest, "badRequest", c.want)
	}

	// The volume shows that it is encrypted; 3.64 shows its key id.
	for _, c := range []struct {
		version string
		withKey bool
	}{{"volume 3.63", false}, {"volume 3.64", true}} {
		rec := e.do(call{method: "GET", path: "/v3/" + testProject + "/volumes/" + v.ID, version: c.version})
		wantStatus(t, rec, 200)
		vol := member(t, obj(t, rec), "volume")
		if member(t, vol, "encrypted") != true {
			t.Errorf("%s: encrypted = %v, want true", c.version, member(t, vol, "encrypted"))
		}
		if has := vol.(*wire.Object).Has("encryption_key_id"); has != c.withKey {
			t.Errorf("%s: encryption_key_id shown %v, want %v", c.version, has, c.withKey)
		}
	}
}

// encKeys are the keys of a decoded object, sorted.
func encKeys(t *testing.T, v any) []string {
	t.Helper()
	return slices.Sorted(slices.Values(keysOf(t, v)))
}

// TestEncryptedVolumeWithoutKeyManager: with no key manager, a volume of an encrypted type is
// refused with Cinder's words and leaves no row; a type whose encryption has no cipher is
// Cinder's "Invalid encryption spec"; other types are unaffected.
func TestEncryptedVolumeWithoutKeyManager(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name, typeID, encryption, want string
	}{
		{"no key manager", "33333333-0000-0000-0000-000000000004", `{"provider": "luks", "control_location": "front-end", "cipher": "aes-xts-plain64", "key_size": 256}`, "Key manager error"},
		{"no cipher", "33333333-0000-0000-0000-000000000005", `{"provider": "luks", "control_location": "front-end"}`, "Invalid encryption spec"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.addVolumeType(c.typeID, c.name)
			wantStatus(t, e.do(call{method: "POST", path: "/v3/" + testProject + "/types/" + c.typeID + "/encryption", body: `{"encryption": ` + c.encryption + `}`}), 200)
			before := len(e.volumes())
			rec := e.do(call{method: "POST", path: "/v3/" + testProject + "/volumes", body: `{"volume": {"size": 1, "volume_type": "` + c.typeID + `"}}`})
			wantFault(t, rec, http.StatusBadRequest, "badRequest", c.want)
			if n := len(e.volumes()); n != before {
				t.Fatalf("%d volumes after the refusal, want %d", n, before)
			}
		})
	}
	id := e.createVolume(`{"volume": {"size": 1}}`, "")
	if v := e.volume(id); v.EncryptionKeyID != "" {
		t.Fatalf("a volume of an unencrypted type got key %q", v.EncryptionKeyID)
	}
}

// TestCreateFromSourceEncryptionChange: a volume made from a source may not take a type whose
// encryption differs from the source's (Cinder's _retype_is_possible), even with one volume
// service.
func TestCreateFromSourceEncryptionChange(t *testing.T) {
	e := sourcesEnv(t)
	src := e.claimedVolume(2, resource.StatusAvailable, "")
	const encType = "33333333-0000-0000-0000-000000000006"
	e.addVolumeType(encType, "locked")
	wantStatus(t, e.do(call{method: "POST", path: "/v3/" + testProject + "/types/" + encType + "/encryption",
		body: `{"encryption": {"provider": "luks", "control_location": "front-end", "cipher": "aes-xts-plain64", "key_size": 256}}`}), 200)
	before := len(e.volumes())
	rec := e.do(call{method: "POST", path: "/v3/" + testProject + "/volumes", body: `{"volume": {"source_volid": "` + src + `", "volume_type": "locked"}}`})
	wantFault(t, rec, http.StatusBadRequest, "badRequest", "Invalid input received: Invalid volume_type provided: "+encType+
		" (requested type is not compatible; recommend omitting the type argument).")
	if n := len(e.volumes()); n != before {
		t.Fatalf("a refused create wrote a volume")
	}
}

// TestRetypeEncryptionChange: a retype that changes encryption needs a migration, refused as
// Cinder's manager refuses it with policy never; a type both multiattach and encrypted is
// refused outright.
func TestRetypeEncryptionChange(t *testing.T) {
	e := sourcesEnv(t)
	id := e.claimedVolume(1, resource.StatusAvailable, "")
	const encType, multiEnc = "33333333-0000-0000-0000-000000000007", "33333333-0000-0000-0000-000000000008"
	e.addVolumeType(encType, "locked")
	e.addVolumeType(multiEnc, "locked-multi")
	e.addExtraSpec(multiEnc, "multiattach", "<is> True")
	for _, typeID := range []string{encType, multiEnc} {
		wantStatus(t, e.do(call{method: "POST", path: "/v3/" + testProject + "/types/" + typeID + "/encryption",
			body: `{"encryption": {"provider": "luks", "control_location": "front-end", "cipher": "aes-xts-plain64", "key_size": 256}}`}), 200)
	}
	for _, c := range []struct{ name, body, want string }{
		{"never", `{"os-retype": {"new_type": "locked"}}`, "Retype requires migration but is not allowed."},
		{"on-demand", `{"os-retype": {"new_type": "locked", "migration_policy": "on-demand"}}`,
			"Retyping volume " + id + " to type locked changes its encryption, which needs a migration; Scoria does not migrate volumes yet."},
		{"multiattach and encrypted", `{"os-retype": {"new_type": "locked-multi"}}`,
			"Invalid input received: Retype requested both encryption and multi-attach, which is not supported."},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := e.do(call{method: "POST", path: "/v3/p1/volumes/" + id + "/action", body: c.body})
			wantFault(t, rec, http.StatusBadRequest, "badRequest", c.want)
			if v := e.volume(id); v.VolumeTypeID == encType || v.VolumeTypeID == multiEnc || v.Status != resource.StatusAvailable {
				t.Fatalf("after a refused retype: type %s, %s", v.VolumeTypeID, v.Status)
			}
		})
	}
}

// TestTransferEncryptedVolume: an encrypted volume cannot be offered for transfer.
func TestTransferEncryptedVolume(t *testing.T) {
	e := newEnv(t)
	v := &resource.Volume{ProjectID: testProject, UserID: testUser, Size: 1, Status: resource.StatusAvailable,
		AttachStatus: resource.AttachDetached, VolumeTypeID: e.volume(e.createVolume(`{"volume": {"size": 1}}`, "")).VolumeTypeID,
		EncryptionKeyID: "11111111-2222-3333-4444-555555555555", Metadata: map[string]string{}}
	if _, err := e.store.CreateVolume(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	for _, version := range []string{"", "volume 3.70"} {
		rec := e.do(call{method: "POST", path: "/v3/" + testProject + "/os-volume-transfer", version: version, body: `{"transfer": {"volume_id": "` + v.ID + `"}}`})
		wantFault(t, rec, http.StatusBadRequest, "badRequest", "Invalid volume: transferring encrypted volume is not supported")
	}
}

// TestVolumeEncryptionMetadata: GET /volumes/{id}/encryption[/{key}] as Nova reads it.
func TestVolumeEncryptionMetadata(t *testing.T) {
	e := newEnv(t)
	const typeID = "33333333-0000-0000-0000-000000000009"
	e.addVolumeType(typeID, "meta")
	wantStatus(t, e.do(call{method: "POST", path: "/v3/" + testProject + "/types/" + typeID + "/encryption",
		body: `{"encryption": {"provider": "luks", "control_location": "front-end", "cipher": "aes-xts-plain64", "key_size": 256}}`}), 200)
	enc := &resource.Volume{ProjectID: testProject, UserID: testUser, Size: 1, Status: resource.StatusAvailable,
		VolumeTypeID: typeID, EncryptionKeyID: "11111111-2222-3333-4444-555555555555", Metadata: map[string]string{}}
	if _, err := e.store.CreateVolume(context.Background(), enc); err != nil {
		t.Fatal(err)
	}
	plain := e.createVolume(`{"volume": {"size": 1}}`, "")
	p := "/v3/" + testProject + "/volumes/"
	for _, c := range []struct {
		name, path string
		status     int
		want       string
	}{
		{"encrypted", p + enc.ID + "/encryption", 200,
			`{"cipher":"aes-xts-plain64","control_location":"front-end","encryption_key_id":"11111111-2222-3333-4444-555555555555","key_size":256,"provider":"luks"}`},
		{"plain", p + plain + "/encryption", 200, `{"encryption_key_id":null}`},
		{"item", p + enc.ID + "/encryption/provider", 200, `"luks"`},
		{"unknown item", p + enc.ID + "/encryption/colour", 404, `{"itemNotFound":{"code":404,"message":"Volume ` + enc.ID + ` has no encryption metadata with key colour."}}`},
		{"another project", "/v3/p2/volumes/" + enc.ID + "/encryption", 404, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			call := call{method: "GET", path: c.path}
			if c.name == "another project" {
				call.token, call.header = tokenP2, memberP2
			}
			rec := e.do(call)
			wantStatus(t, rec, c.status)
			if got := strings.TrimSpace(rec.Body.String()); c.want != "" && got != c.want {
				t.Errorf("body %s, want %s", got, c.want)
			}
		})
	}
}
