package api

import (
	"net/http"
	"strings"

	"github.com/scoria/scoria/internal/resource"
)

// Scoria's binaries are shown under Cinder's names, so that `cinder service-list` and tools
// filtering on binary=cinder-volume keep working.
const (
	scoriaPrefix = "scoria-"
	cinderPrefix = "cinder-"
)

func cinderBinary(b string) string {
	if strings.HasPrefix(b, scoriaPrefix) {
		return cinderPrefix + strings.TrimPrefix(b, scoriaPrefix)
	}
	return b
}

func scoriaBinary(b string) string {
	if strings.HasPrefix(b, cinderPrefix) {
		return scoriaPrefix + strings.TrimPrefix(b, cinderPrefix)
	}
	return b
}

// serviceView is Cinder's os-services entry, members in Cinder's order.
type serviceView struct {
	Binary            string       `json:"binary"`
	Host              string       `json:"host"`
	Zone              string       `json:"zone"`
	Status            string       `json:"status"`
	State             string       `json:"state"`
	UpdatedAt         *timestamp   `json:"updated_at"`
	BackendState      opt[*string] `json:"backend_state,omitzero"` // 3.49, volume services
	Cluster           opt[*string] `json:"cluster,omitzero"`       // 3.7
	DisabledReason    *string      `json:"disabled_reason"`
	ReplicationStatus opt[string]  `json:"replication_status,omitzero"` // volume services
	ActiveBackendID   opt[*string] `json:"active_backend_id,omitzero"`  // volume services
	Frozen            opt[bool]    `json:"frozen,omitzero"`             // volume services
}

// listServices is GET /os-services (admin): every service with its heartbeat state,
// filtered by ?host= (Cinder's host matching) and ?binary=.
func (s *server) listServices(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if f := authorizeAdmin(r, policyServicesIndex); f != nil {
		s.writeError(w, r, f)
		return
	}
	q := r.URL.Query()
	var filter resource.ServiceFilter
	if b := q.Get("binary"); b != "" {
		filter.Binary = scoriaBinary(b)
	}
	services, err := s.store.ListServices(ctx, filter)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	host := q.Get("host")
	mv := versionOf(ctx)
	now := s.now()
	views := []serviceView{}
	for _, svc := range services {
		if filter.Binary != "" && svc.Binary != filter.Binary {
			continue
		}
		if host != "" && !hostMatches(svc.Host, host) {
			continue
		}
		up := svc.Up(now, s.downTime)
		v := serviceView{
			Binary:         cinderBinary(svc.Binary),
			Host:           svc.Host,
			Zone:           svc.AvailabilityZone,
			Status:         "enabled",
			State:          "down",
			UpdatedAt:      timestampPtr(svc.UpdatedAt),
			DisabledReason: nullable(svc.DisabledReason),
		}
		if svc.Disabled {
			v.Status = "disabled"
		}
		if up {
			v.State = "up"
		}
		volume := svc.Binary == resource.BinaryVolume
		if volume && mv.atLeast(mvBackendState) {
			// Cinder reports the state the scheduler has for the backend's pools, which it
			// only has for up, enabled services.
			var state *string
			if up && !svc.Disabled {
				state = nullable("up")
			}
			v.BackendState = some(state)
		}
		if mv.atLeast(mvClusterSupport) {
			v.Cluster = some[*string](nil)
		}
		if volume {
			v.ReplicationStatus = some("disabled")
			v.ActiveBackendID = some[*string](nil)
			v.Frozen = some(false)
		}
		views = append(views, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"services": views})
}

// hostMatches is Cinder's host filter: "host" matches host, host@backend and host#pool;
// "host@backend" matches itself and its pools; "host@backend#pool" only itself.
func hostMatches(have, want string) bool {
	if have == want {
		return true
	}
	switch {
	case strings.Contains(want, "#"):
		return false
	case strings.Contains(want, "@"):
		return strings.HasPrefix(have, want+"#")
	default:
		return strings.HasPrefix(have, want+"@") || strings.HasPrefix(have, want+"#")
	}
}
