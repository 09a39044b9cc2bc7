package api

import (
	"net/http"

	"github.com/scoria/scoria/internal/api/transfers"
	"github.com/scoria/scoria/internal/api/wire"
)

// transferRoutes registers the transfer area's routes, served by the package transfers: the
// same handlers under the old extension path and, from 3.55, under volume-transfers (a path
// the router does not know below it).
func (s *server) transferRoutes(api route) {
	t := transfers.New(s.store, s.getVolume, s.log, s.maxLimit)
	for _, c := range []struct {
		collection string
		from       wire.Version
	}{{"os-volume-transfer", wire.MinVersion}, {"volume-transfers", transfers.WithSnapshots}} {
		gate := func(h wire.HandlerFunc) wire.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) error {
				if !wire.VersionOf(r.Context()).AtLeast(c.from) {
					s.unknownPath(w, r)
					return nil
				}
				return h(w, r)
			}
		}
		col := c.collection
		api("/"+col, http.MethodPost, gate(t.Create(col)))
		api("/"+col, http.MethodGet, gate(t.List(col, false)))
		api("/"+col+"/detail", http.MethodGet, gate(t.List(col, true)))
		api("/"+col+"/{transfer_id}", http.MethodGet, gate(t.Show(col)))
		api("/"+col+"/{transfer_id}", http.MethodDelete, gate(t.Delete))
		api("/"+col+"/{transfer_id}/accept", http.MethodPost, gate(t.Accept(col)))
	}
}
