package api

import (
	"maps"
	"net/http"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/gorilla/mux"
)

// volumeAction serves one action of POST /volumes/{id}/action. id is the volume id of the
// URL; args is the value under the action's name, as readBody decodes it: *object, nil
// (python-cinderclient sends {"os-reserve": null}), a string (gophercloud sends "" or {}
// for actions without arguments), or anything else a client sent, which the action checks.
type volumeAction func(w http.ResponseWriter, r *http.Request, id string, args any) error

// volumeActions is every action this API serves, by name; each area contributes its own.
func (s *server) volumeActions() map[string]volumeAction {
	all := map[string]volumeAction{}
	for _, part := range []map[string]volumeAction{
		s.snapshotVolumeActions(),
		s.sourceVolumeActions(),
		s.extraVolumeActions(),
		s.attachVolumeActions(),
		s.gapVolumeActions(),
		s.imageActions(),
	} {
		maps.Copy(all, part)
	}
	return all
}

// volumeAction is POST /volumes/{id}/action: a body of exactly one key, the action's name, as
// Cinder's action_peek demands; an action it does not know is Cinder's 400 "There is no such
// action".
func (s *server) volumeAction(w http.ResponseWriter, r *http.Request) error {
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	o, ok := body.(*wire.Object)
	if !ok || len(o.Keys) != 1 {
		return wire.BadRequest(wire.MsgMalformedBody)
	}
	name := o.Keys[0]
	action, ok := s.actions[name]
	if !ok {
		return wire.BadRequest("There is no such action: %s", name)
	}
	deferVolumeAction(r, name)
	args, _ := o.Get(name)
	return action(w, r, mux.Vars(r)["volume_id"], args)
}
