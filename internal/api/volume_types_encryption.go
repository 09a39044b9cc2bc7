package api

// Volume type encryption: /types/{id}/encryption[/{key}], as Cinder's volume_type_encryption
// extension serves it (cinder/api/contrib/volume_type_encryption.py with the schema of
// cinder/api/schemas/volume_type_encryption.py). GET answers {} for a type without
// encryption (Horizon asks for every type); create, update and delete are refused while
// volumes of the type exist. All four are admin_api by Cinder's default policy.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/keymanager"
	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// encryptionStore is what this area needs of the database.
type encryptionStore interface {
	GetVolumeTypeEncryption(ctx context.Context, typeID string) (*resource.Encryption, error)
	CreateVolumeTypeEncryption(ctx context.Context, e *resource.Encryption) error
	UpdateVolumeTypeEncryption(ctx context.Context, typeID string, u resource.EncryptionUpdate) (*resource.Encryption, error)
	DeleteVolumeTypeEncryption(ctx context.Context, typeID string) error
	// SnapshotEncryptionKey is the key id a snapshot keeps ("" if none);
	// EncryptionKeyInUse says whether another volume or another volume's snapshot refers to
	// a key (then deleting a volume keeps it).
	SnapshotEncryptionKey(ctx context.Context, id string) (string, error)
	EncryptionKeyInUse(ctx context.Context, keyID, volumeID string) (bool, error)
}

// Policy rules of this area (Cinder's volume_type policies; admin_api by default).
const (
	policyEncryptionCreate = "volume_extension:volume_type_encryption:create"
	policyEncryptionGet    = "volume_extension:volume_type_encryption:get"
	policyEncryptionUpdate = "volume_extension:volume_type_encryption:update"
	policyEncryptionDelete = "volume_extension:volume_type_encryption:delete"
)

// mvEncryptionKeyID is 3.64: a volume's detailed view shows encryption_key_id.
var mvEncryptionKeyID = wire.Version{Major: 3, Minor: 64}

// encryptionRoutes registers this area's routes.
func (s *server) encryptionRoutes(api route) {
	api("/types/{type_id}/encryption", http.MethodGet, s.showEncryption)
	api("/types/{type_id}/encryption", http.MethodPost, s.createEncryption)
	api("/types/{type_id}/encryption/{key}", http.MethodGet, s.showEncryptionItem)
	api("/types/{type_id}/encryption/{key}", http.MethodPut, s.updateEncryption)
	api("/types/{type_id}/encryption/{key}", http.MethodDelete, s.deleteEncryption)
	api("/volumes/{volume_id}/encryption", http.MethodGet, s.showVolumeEncryption)
	api("/volumes/{volume_id}/encryption/{key}", http.MethodGet, s.showVolumeEncryptionItem)
}

// encryptionSpecs is a type's encryption as Cinder's GET shows it: every column of its row.
func encryptionSpecs(e *resource.Encryption) map[string]any {
	return map[string]any{
		"volume_type_id":   e.VolumeTypeID,
		"encryption_id":    e.ID,
		"provider":         e.Provider,
		"cipher":           e.Cipher,
		"key_size":         e.KeySize,
		"control_location": e.ControlLocation,
		"created_at":       timestamp(e.CreatedAt),
		"updated_at":       timestampPtr(e.UpdatedAt),
		"deleted_at":       nil,
		"deleted":          false,
	}
}

// typeEncryption reads the encryption of a type the caller may see: nil when it has none.
func (s *server) typeEncryption(ctx context.Context, typeID string) (*resource.Encryption, error) {
	if _, err := s.getType(ctx, typeID); err != nil {
		return nil, err
	}
	e, err := s.store.GetVolumeTypeEncryption(ctx, typeID)
	if errors.Is(err, resource.ErrEncryptionNotFound) {
		return nil, nil
	}
	return e, err
}

// showEncryption is GET /types/{id}/encryption: the encryption's columns, {} without one.
func (s *server) showEncryption(w http.ResponseWriter, r *http.Request) error {
	if f := authorizeAdmin(r, policyEncryptionGet); f != nil {
		return f
	}
	e, err := s.typeEncryption(r.Context(), mux.Vars(r)["type_id"])
	if err != nil {
		return err
	}
	if e == nil {
		wire.WriteJSON(w, http.StatusOK, map[string]any{})
		return nil
	}
	wire.WriteJSON(w, http.StatusOK, encryptionSpecs(e))
	return nil
}

// showEncryptionItem is GET /types/{id}/encryption/{key}: {key: value}.
func (s *server) showEncryptionItem(w http.ResponseWriter, r *http.Request) error {
	if f := authorizeAdmin(r, policyEncryptionGet); f != nil {
		return f
	}
	vars := mux.Vars(r)
	e, err := s.typeEncryption(r.Context(), vars["type_id"])
	if err != nil {
		return err
	}
	var specs map[string]any
	if e != nil {
		specs = encryptionSpecs(e)
	}
	v, ok := specs[vars["key"]]
	if !ok {
		return encryptionNotFound(vars["type_id"])
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{vars["key"]: v})
	return nil
}

func encryptionNotFound(typeID string) *wire.Fault {
	return wire.NotFound("Volume type encryption for type %s does not exist.", typeID)
}

// encryptionBody is a checked create or update body: the fields given, and the body to
// answer (Cinder answers what was sent, key_size made an integer).
type encryptionBody struct {
	u      resource.EncryptionUpdate
	answer map[string]any
}

// canonicalInt is what oslo's is_int_like accepts of a string: str(int(s)) == s.
var canonicalInt = regexp.MustCompile(`^(0|-?[1-9][0-9]*)$`)

// checkEncryption checks the "encryption" member of a create (required true) or update body
// as Cinder's schema does, in its order: the properties, then the required ones.
func checkEncryption(v any, required bool) (*encryptionBody, *wire.Fault) {
	o, f := wire.RequireObject("encryption", v)
	if f != nil {
		return nil, f
	}
	b := &encryptionBody{answer: map[string]any{}}
	for _, k := range o.Keys {
		b.answer[k] = o.Vals[k]
	}
	if ks, ok := o.Get("key_size"); ok {
		n, f := checkKeySize(ks)
		if f != nil {
			return nil, f
		}
		b.u.SetKeySize, b.u.KeySize = true, n
		b.answer["key_size"] = n
	}
	if p, ok := o.Get("provider"); ok {
		if f := wire.CheckType("provider", p, "string"); f != nil {
			return nil, f
		}
		s := p.(string)
		if f := wire.CheckLength("provider", s, 0, 255); f != nil {
			return nil, f
		}
		b.u.Provider = &s
	}
	if cl, ok := o.Get("control_location"); ok {
		s, isStr := cl.(string)
		if !isStr || (s != "front-end" && s != "back-end") {
			return nil, wire.SchemaError("control_location", cl, wire.PyRepr(cl)+" is not one of ['front-end', 'back-end']")
		}
		b.u.ControlLocation = &s
	}
	if c, ok := o.Get("cipher"); ok {
		if f := wire.CheckNullableString("cipher", c, 0, 255); f != nil {
			return nil, f
		}
		b.u.SetCipher = true
		if s, isStr := c.(string); isStr {
			b.u.Cipher = &s
		}
	}
	if required {
		for _, k := range []string{"provider", "control_location"} {
			if !o.Has(k) {
				return nil, wire.SchemaError("encryption", o, wire.PyStrRepr(k)+" is a required property")
			}
		}
	}
	return b, nil
}

// checkKeySize is Cinder's key_size: an integer, a string of one, or null; at least 0 and at
// most DB_MAX_INT (digit strings too); a string must be exactly an integer's digits. It
// returns nil for null.
func checkKeySize(v any) (*int, *wire.Fault) {
	if f := wire.CheckType("key_size", v, "string", "integer", "null"); f != nil {
		return nil, f
	}
	var text string
	switch t := v.(type) {
	case nil:
		return nil, nil
	case json.Number:
		text = string(t)
	case string:
		text = t
	}
	// The minimum and maximum are checked on what Python's int() or float() makes of it.
	if f, err := strconv.ParseFloat(text, 64); err == nil {
		switch {
		case f < 0:
			return nil, wire.SchemaError("key_size", v, pyNumberText(text)+" is less than the minimum of 0")
		case f > wire.DBMaxInt:
			return nil, wire.SchemaError("key_size", v, pyNumberText(text)+" is greater than the maximum of 2147483647")
		}
	}
	if !canonicalInt.MatchString(text) {
		return nil, wire.InvalidInput("key_size must be an integer.")
	}
	n, _ := strconv.Atoi(text)
	return &n, nil
}

// pyNumberText is a number's text as Python prints the int (or float) it parses to.
func pyNumberText(text string) string {
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return strconv.FormatInt(n, 10)
	}
	return wire.PyNumber(json.Number(text))
}

// encryptionFault maps the store's refusals to Cinder's answers; op is "create", "update"
// or "delete".
func encryptionFault(err error, op, typeID string) error {
	switch {
	case errors.Is(err, resource.ErrVolumeTypeInUse):
		return wire.BadRequest("Cannot %s encryption specs. Volume type in use.", op)
	case errors.Is(err, resource.ErrEncryptionExists):
		return wire.BadRequest("Volume type encryption for type %s already exists.", typeID)
	case errors.Is(err, resource.ErrEncryptionNotFound):
		return encryptionNotFound(typeID)
	}
	return wire.NotFoundAs(err, "VolumeType", typeID)
}

// createEncryption is POST /types/{id}/encryption (admin).
func (s *server) createEncryption(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	typeID := mux.Vars(r)["type_id"]
	if f := authorizeAdmin(r, policyEncryptionCreate); f != nil {
		return f
	}
	v, err := wire.ReadMember(r, "encryption")
	if err != nil {
		return err
	}
	b, f := checkEncryption(v, true)
	if f != nil {
		return f
	}
	e := &resource.Encryption{VolumeTypeID: typeID, Provider: *b.u.Provider, ControlLocation: *b.u.ControlLocation,
		Cipher: b.u.Cipher, KeySize: b.u.KeySize}
	if err := s.store.CreateVolumeTypeEncryption(ctx, e); err != nil {
		return encryptionFault(err, "create", typeID)
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"volume_type_id": typeID, "encryption_id": e.ID}).Info("volume type encryption created")
	b.answer["volume_type_id"], b.answer["encryption_id"] = typeID, e.ID
	wire.WriteJSON(w, http.StatusOK, map[string]any{"encryption": b.answer})
	return nil
}

// updateEncryption is PUT /types/{id}/encryption/{encryption_id} (admin); Cinder ignores the
// encryption id of the path.
func (s *server) updateEncryption(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	typeID := mux.Vars(r)["type_id"]
	if f := authorizeAdmin(r, policyEncryptionUpdate); f != nil {
		return f
	}
	v, err := wire.ReadMember(r, "encryption")
	if err != nil {
		return err
	}
	b, f := checkEncryption(v, false)
	if f != nil {
		return f
	}
	if _, err := s.store.UpdateVolumeTypeEncryption(ctx, typeID, b.u); err != nil {
		return encryptionFault(err, "update", typeID)
	}
	reqctx.Log(ctx, s.log).WithField("volume_type_id", typeID).Info("volume type encryption updated")
	wire.WriteJSON(w, http.StatusOK, map[string]any{"encryption": b.answer})
	return nil
}

// deleteEncryption is DELETE /types/{id}/encryption/{encryption_id} (admin): 202.
func (s *server) deleteEncryption(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	typeID := mux.Vars(r)["type_id"]
	if f := authorizeAdmin(r, policyEncryptionDelete); f != nil {
		return f
	}
	if err := s.store.DeleteVolumeTypeEncryption(ctx, typeID); err != nil {
		return encryptionFault(err, "delete", typeID)
	}
	reqctx.Log(ctx, s.log).WithField("volume_type_id", typeID).Info("volume type encryption deleted")
	wire.WriteAccepted(w)
	return nil
}

// keyManager is the API's key manager: none when Options.KeyManager is nil.
func (s *server) keyManager() keymanager.Manager {
	if s.keys == nil {
		return keymanager.New(keymanager.Config{})
	}
	return s.keys
}

// newVolumeKey gives v, about to be created as type vt, its encryption key when vt is
// encrypted, as Cinder's create flow (_get_encryption_key_id): a copy of the key of the
// snapshot or volume it is made from, else a new key of the type's cipher and key size,
// made with the caller's token. A key manager's failure is Cinder's terse "Key manager
// error" (the reason is logged).
func (s *server) newVolumeKey(r *http.Request, v *resource.Volume, vt *resource.VolumeType) error {
	ctx := r.Context()
	enc, err := s.store.GetVolumeTypeEncryption(ctx, vt.ID)
	if errors.Is(err, resource.ErrEncryptionNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var source string
	switch {
	case v.SnapshotID != "":
		if source, err = s.store.SnapshotEncryptionKey(ctx, v.SnapshotID); err != nil {
			return err
		}
	case v.SourceVolID != "":
		src, err := s.store.GetVolume(ctx, v.SourceVolID)
		if err != nil {
			return wire.NotFoundAs(err, "Volume", v.SourceVolID)
		}
		source = src.EncryptionKeyID
	}
	token := r.Header.Get("X-Auth-Token")
	log := reqctx.Log(ctx, s.log).WithFields(map[string]any{"volume_id": v.ID, "volume_type_id": vt.ID})
	var id string
	if source != "" {
		id, err = s.keyManager().CopyKey(ctx, token, source)
		log = log.WithField("source_key_id", source)
	} else {
		if enc.Cipher == nil || *enc.Cipher == "" {
			return wire.BadRequest("Invalid encryption spec")
		}
		algorithm, _, _ := strings.Cut(*enc.Cipher, "-")
		bits := 0
		if enc.KeySize != nil {
			bits = *enc.KeySize
		}
		id, err = s.keyManager().CreateKey(ctx, token, algorithm, bits)
	}
	if err != nil {
		log.WithError(err).Error("key manager error")
		return wire.BadRequest("Key manager error")
	}
	v.EncryptionKeyID = id
	log.WithField("encryption_key_id", id).Info("volume encryption key made")
	return nil
}

// forgetVolumeKey deletes the key newVolumeKey made for v when v was not created after all.
func (s *server) forgetVolumeKey(r *http.Request, v *resource.Volume) {
	if v.EncryptionKeyID == "" {
		return
	}
	ctx := r.Context()
	log := reqctx.Log(ctx, s.log).WithFields(map[string]any{"volume_id": v.ID, "encryption_key_id": v.EncryptionKeyID})
	if err := s.keyManager().DeleteKey(ctx, r.Header.Get("X-Auth-Token"), v.EncryptionKeyID); err != nil && !errors.Is(err, keymanager.ErrNotFound) {
		log.WithError(err).Error("could not delete the key of a volume that was not created")
		return
	}
	log.Info("key of a volume that was not created deleted")
}

// deleteVolumeKey deletes, once v's delete was accepted, v's encryption key, unless another
// volume or another volume's snapshot still refers to it (Cinder's delete_encryption_key,
// with the caller's token). A failure is logged: the volume is deleted all the same, and
// the key stays in the key manager.
func (s *server) deleteVolumeKey(r *http.Request, v *resource.Volume) {
	if v.EncryptionKeyID == "" {
		return
	}
	ctx := r.Context()
	log := reqctx.Log(ctx, s.log).WithFields(map[string]any{"volume_id": v.ID, "encryption_key_id": v.EncryptionKeyID})
	inUse, err := s.store.EncryptionKeyInUse(ctx, v.EncryptionKeyID, v.ID)
	if err != nil {
		log.WithError(err).Error("could not tell whether the volume's key is in use: key kept")
		return
	}
	if inUse {
		log.Info("volume's key kept: another volume or snapshot uses it")
		return
	}
	err = s.keyManager().DeleteKey(ctx, r.Header.Get("X-Auth-Token"), v.EncryptionKeyID)
	switch {
	case err == nil:
		log.Info("volume's encryption key deleted")
	case errors.Is(err, keymanager.ErrNotFound):
		log.Info("volume's encryption key was already gone")
	default:
		log.WithError(err).Error("Unable to delete encryption key for volume: key kept")
	}
}

// encryptionChanged is Cinder's volume_types_encryption_changed: whether types a and b differ
// in encryption (one has it and the other not, or provider, cipher, key size or control
// location differ). A read error counts as a change, which refuses rather than mixes.
func (s *server) encryptionChanged(ctx context.Context, a, b string) bool {
	read := func(id string) (*resource.Encryption, bool) {
		e, err := s.store.GetVolumeTypeEncryption(ctx, id)
		if errors.Is(err, resource.ErrEncryptionNotFound) {
			return nil, true
		}
		return e, err == nil
	}
	ea, okA := read(a)
	eb, okB := read(b)
	switch {
	case !okA || !okB:
		return true
	case ea == nil || eb == nil:
		return (ea == nil) != (eb == nil)
	}
	same := func(x, y *string) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	sameInt := func(x, y *int) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	return ea.Provider != eb.Provider || ea.ControlLocation != eb.ControlLocation || !same(ea.Cipher, eb.Cipher) || !sameInt(ea.KeySize, eb.KeySize)
}

// retypeEncryptionFault refuses a retype of v to vt that Cinder cannot do in place: to a type
// both multiattach and encrypted, or one whose encryption differs from v's type's, which
// needs a migration (refused with migration policy never, as Cinder's manager does; Scoria
// does not migrate volumes yet).
func (s *server) retypeEncryptionFault(ctx context.Context, v *resource.Volume, vt *resource.VolumeType, multiattach bool, policy string) error {
	if multiattach {
		if _, err := s.store.GetVolumeTypeEncryption(ctx, vt.ID); err == nil {
			return wire.InvalidInput("Retype requested both encryption and multi-attach, which is not supported.")
		}
	}
	if !s.encryptionChanged(ctx, v.VolumeTypeID, vt.ID) {
		return nil
	}
	if policy == "on-demand" {
		return wire.BadRequest("Retyping volume %s to type %s changes its encryption, which needs a migration; Scoria does not migrate volumes yet.", v.ID, vt.Name)
	}
	return wire.BadRequest("Retype requires migration but is not allowed.")
}

// volumeEncryption is Cinder's volume_encryption_metadata_get: the volume's key id (null
// when not encrypted) and, when its type has an encryption, that encryption's provider,
// cipher, key_size and control_location (what Nova's encryptors need to attach it).
func (s *server) volumeEncryption(ctx context.Context, id string) (map[string]any, error) {
	v, err := s.getVolume(ctx, id)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"encryption_key_id": nullable(v.EncryptionKeyID)}
	e, err := s.store.GetVolumeTypeEncryption(ctx, v.VolumeTypeID)
	switch {
	case errors.Is(err, resource.ErrEncryptionNotFound):
	case err != nil:
		return nil, err
	default:
		out["provider"], out["cipher"], out["key_size"], out["control_location"] = e.Provider, e.Cipher, e.KeySize, e.ControlLocation
	}
	return out, nil
}

// showVolumeEncryption is GET /volumes/{id}/encryption (volume_encryption_metadata).
func (s *server) showVolumeEncryption(w http.ResponseWriter, r *http.Request) error {
	m, err := s.volumeEncryption(r.Context(), mux.Vars(r)["volume_id"])
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, m)
	return nil
}

// showVolumeEncryptionItem is GET /volumes/{id}/encryption/{key}: the bare value, as Cinder
// answers it. An unknown key is a 404 (Cinder fails with a 500 there).
func (s *server) showVolumeEncryptionItem(w http.ResponseWriter, r *http.Request) error {
	vars := mux.Vars(r)
	m, err := s.volumeEncryption(r.Context(), vars["volume_id"])
	if err != nil {
		return err
	}
	v, ok := m[vars["key"]]
	if !ok {
		return wire.NotFound("Volume %s has no encryption metadata with key %s.", vars["volume_id"], vars["key"])
	}
	wire.WriteJSON(w, http.StatusOK, v)
	return nil
}
