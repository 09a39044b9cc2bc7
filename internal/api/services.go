package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

// serviceStore is what the service endpoints need of the database.
type serviceStore interface {
	ListServices(ctx context.Context, f resource.ServiceFilter) ([]*resource.Service, error)
}

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
func (s *server) listServices(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if f := authorizeAdmin(r, policyServicesIndex); f != nil {
		return f
	}
	q := r.URL.Query()
	var filter resource.ServiceFilter
	if b := q.Get("binary"); b != "" {
		filter.Binary = scoriaBinary(b)
	}
	services, err := s.store.ListServices(ctx, filter)
	if err != nil {
		return err
	}
	host := q.Get("host")
	mv := wire.VersionOf(ctx)
	now := s.now()
	var (
		states      map[string]string
		statesKnown bool
		asked       bool
	)
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
		if volume && mv.AtLeast(mvBackendState) {
			if !asked {
				states, statesKnown = s.backendStates(ctx)
				asked = true
			}
			var state *string
			switch st, ok := states[svc.Host]; {
			case statesKnown && ok:
				state = &st
			case statesKnown: // the scheduler has no pool of it: down, disabled or not reported
			case up && !svc.Disabled:
				// Without the scheduler's answer: what it would show for a service that
				// reports (it only has pools of up, enabled services).
				state = nullable(resource.BackendStateUp)
			}
			v.BackendState = some(state)
		}
		if mv.AtLeast(mvClusterSupport) {
			v.Cluster = some[*string](nil)
		}
		if volume {
			v.ReplicationStatus = some("disabled")
			v.ActiveBackendID = some[*string](nil)
			v.Frozen = some(false)
		}
		views = append(views, v)
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"services": views})
	return nil
}

// backendStatesTimeout bounds how long GET /os-services waits for the scheduler's pools
// before it shows backend_state from the services' heartbeats instead.
const backendStatesTimeout = 3 * time.Second

// backendStates is Cinder's backend_state_map: for each backend (host@backend) the scheduler
// has pools of, the backend_state of their capabilities ("up" when a pool does not say;
// "down" when any pool of the backend says down). known is false when the API has no
// scheduler or none answered within backendStatesTimeout: Cinder would fail the list, Scoria
// lists the services with the state their heartbeats tell.
func (s *server) backendStates(ctx context.Context) (states map[string]string, known bool) {
	if s.pools == nil {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, backendStatesTimeout)
	defer cancel()
	pools, err := s.pools.GetPools(ctx, rpcapi.GetPoolsArgs{})
	if err != nil {
		reqctx.Log(ctx, s.log).WithError(err).Warn("os-services: the scheduler did not give its pools; backend_state from the services' heartbeats")
		return nil, false
	}
	states = map[string]string{}
	for _, p := range pools {
		state := resource.BackendStateUp
		if st, ok := p.Capabilities[resource.CapBackendState].(string); ok && st != "" {
			state = st
		}
		b := rpcapi.BackendHost(p.Name)
		if states[b] != resource.BackendStateDown {
			states[b] = state
		}
	}
	return states, true
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
