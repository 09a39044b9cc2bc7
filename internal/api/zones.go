package api

import (
	"net/http"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/resource"
)

// availabilityZoneView is one entry of Cinder's os-availability-zone answer.
type availabilityZoneView struct {
	ZoneName  string `json:"zoneName"`
	ZoneState struct {
		Available bool `json:"available"`
	} `json:"zoneState"`
}

// listAvailabilityZones is GET /os-availability-zone (any user): the zones of the volume
// services, in the order the services registered. As in Cinder a zone whose services are
// all disabled is listed as not available; Scoria also counts a zone whose services are all
// down (no heartbeat for service_down_time) as not available, since nothing there can take
// a volume.
func (s *server) listAvailabilityZones(w http.ResponseWriter, r *http.Request) error {
	services, err := s.store.ListServices(r.Context(), resource.ServiceFilter{Binary: resource.BinaryVolume})
	if err != nil {
		return err
	}
	now := s.now()
	zones := []availabilityZoneView{}
	index := map[string]int{}
	for _, svc := range services {
		if svc.Binary != resource.BinaryVolume {
			continue
		}
		i, ok := index[svc.AvailabilityZone]
		if !ok {
			i = len(zones)
			index[svc.AvailabilityZone] = i
			zones = append(zones, availabilityZoneView{ZoneName: svc.AvailabilityZone})
		}
		if !svc.Disabled && svc.Up(now, s.downTime) {
			zones[i].ZoneState.Available = true
		}
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": zones})
	return nil
}
