package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
)

// Pools is what the API needs of the scheduler: the pools it knows from the volume services'
// capability reports, filtered as args say.
type Pools interface {
	GetPools(ctx context.Context, args rpcapi.GetPoolsArgs) ([]rpcapi.PoolInfo, error)
}

// DefaultPoolsTimeout bounds how long RPCPools waits for a scheduler.
const DefaultPoolsTimeout = 15 * time.Second

// RPCPools asks any scheduler for its pools with a get_pools call on the bus.
type RPCPools struct {
	Transport rpc.Transport
	// Timeout bounds the wait for an answer (default DefaultPoolsTimeout).
	Timeout time.Duration
}

// GetPools calls get_pools on the scheduler topic. A scheduler that does not answer in time
// (none running, or all of them stuck) is an *unavailableError, which the API answers 503.
func (p *RPCPools) GetPools(ctx context.Context, args rpcapi.GetPoolsArgs) ([]rpcapi.PoolInfo, error) {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultPoolsTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var pools []rpcapi.PoolInfo
	err := p.Transport.Call(ctx, rpcapi.SchedulerTarget(), rpcapi.GetPools, args, &pools)
	if errors.Is(err, rpc.ErrTimeout) || errors.Is(err, rpc.ErrClosed) {
		return nil, &wire.UnavailableError{
			Reason: fmt.Sprintf("No scheduler answered within %s; check that scoria-scheduler is running.", timeout),
			Err:    err,
		}
	}
	if err != nil {
		return nil, fmt.Errorf("get_pools: %w", err)
	}
	return pools, nil
}

// errNoPools answers the pool endpoints of an API built without Options.Pools.
var errNoPools = &wire.UnavailableError{Reason: "This API is not connected to a scheduler."}

// poolFilters are the filters a get_pools request may use from mvResourceFilter: Cinder's
// resource_filters.json entry for "pool", and Scoria's "backend" (host@backend).
var poolFilters = []string{"name", "volume_type", "backend"}

// getPools is GET /scheduler-stats/get_pools (admin): the scheduler's pools, their names or,
// with detail=true, their capabilities too.
func (s *server) getPools(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if f := authorizeAdmin(r, policyGetPools); f != nil {
		return f
	}
	q, f := wire.ParseQuery(r.URL.RawQuery)
	if f != nil {
		return f
	}
	detail := false
	if v, ok := q.Get("detail"); ok {
		if detail, f = wire.ParseBoolParam("detail", v); f != nil {
			return f
		}
	}
	args, err := s.poolArgs(ctx, q)
	if err != nil {
		return err
	}
	pools, err := s.listPools(ctx, args)
	if err != nil {
		return err
	}
	type poolView struct {
		Name         string   `json:"name"`
		Capabilities opt[any] `json:"capabilities,omitzero"`
	}
	views := make([]poolView, 0, len(pools))
	for _, p := range pools {
		v := poolView{Name: p.Name}
		if detail {
			v.Capabilities = some(poolCapabilities(p.Capabilities))
		}
		views = append(views, v)
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"pools": views})
	return nil
}

// poolArgs turns the query of a get_pools request into the scheduler's filters, as Cinder's
// microversions allow them: none before 3.28, any capability from 3.28, only the known
// filters from 3.31 (others answer 400), volume_type from 3.35 (resolved here, by name or id).
func (s *server) poolArgs(ctx context.Context, q wire.Query) (rpcapi.GetPoolsArgs, error) {
	var args rpcapi.GetPoolsArgs
	mv := wire.VersionOf(ctx)
	if !mv.AtLeast(mvPoolFilter) {
		return args, nil
	}
	filters := map[string]string{}
	var keys, invalid []string
	for _, p := range q {
		if p.Key == "detail" || p.Key == "all_tenants" {
			continue
		}
		if _, dup := filters[p.Key]; !dup {
			keys = append(keys, p.Key)
		}
		filters[p.Key] = p.Value
	}
	if mv.AtLeast(mvResourceFilter) {
		for _, k := range keys {
			if !slices.Contains(poolFilters, k) {
				invalid = append(invalid, k)
			}
		}
		if len(invalid) > 0 {
			return args, wire.BadRequest("Invalid filters %s are found in query options.", strings.Join(invalid, ","))
		}
	}
	if ident, ok := filters["volume_type"]; ok {
		delete(filters, "volume_type")
		if mv.AtLeast(mvPoolTypeFilter) && ident != "" {
			vt, err := s.resolveVolumeType(ctx, ident)
			if err != nil {
				return args, err
			}
			args.VolumeType = &rpcapi.VolumeTypeSpec{ID: vt.ID, Name: vt.Name, ExtraSpecs: vt.ExtraSpecs}
		}
	}
	if len(filters) > 0 {
		args.Filters = filters
	}
	return args, nil
}

// listPools asks the scheduler for pools and orders them by name.
func (s *server) listPools(ctx context.Context, args rpcapi.GetPoolsArgs) ([]rpcapi.PoolInfo, error) {
	if s.pools == nil {
		return nil, errNoPools
	}
	pools, err := s.pools.GetPools(ctx, args)
	if err != nil {
		return nil, err
	}
	sort.Slice(pools, func(i, j int) bool { return pools[i].Name < pools[j].Name })
	return pools, nil
}

// poolCapabilities is a pool's capabilities as Cinder's view shows them: storage_protocol,
// which a driver may report as a list of variants, is its first (preferred) one.
func poolCapabilities(caps map[string]any) any {
	if caps == nil {
		return nil
	}
	if l, ok := caps["storage_protocol"].([]any); ok && len(l) > 0 {
		c := make(map[string]any, len(caps))
		for k, v := range caps {
			c[k] = v
		}
		c["storage_protocol"] = l[0]
		return c
	}
	return caps
}

// capabilitiesView is Cinder's GET /capabilities/{host} answer, members in Cinder's order.
type capabilitiesView struct {
	Namespace          string         `json:"namespace"`
	VendorName         any            `json:"vendor_name"`
	VolumeBackendName  any            `json:"volume_backend_name"`
	PoolName           any            `json:"pool_name"`
	DriverVersion      any            `json:"driver_version"`
	StorageProtocol    any            `json:"storage_protocol"`
	DisplayName        any            `json:"display_name"`
	Description        any            `json:"description"`
	Visibility         any            `json:"visibility"`
	ReplicationTargets any            `json:"replication_targets"`
	Properties         map[string]any `json:"properties"`
}

// standardProperties are the properties every Cinder driver declares (the driver's
// _init_standard_capabilities); a backend's own "properties" capability adds to them.
func standardProperties() map[string]any {
	prop := func(title, description string) map[string]any {
		return map[string]any{"title": title, "description": description, "type": "boolean"}
	}
	return map[string]any{
		"thin_provisioning":   prop("Thin Provisioning", "Sets thin provisioning."),
		"compression":         prop("Compression", "Enables compression."),
		"qos":                 prop("QoS", "Enables QoS."),
		"replication_enabled": prop("Replication", "Enables replication."),
	}
}

// showCapabilities is GET /capabilities/{hostname} (admin): what a backend (host@backend)
// offers, for writing volume types. Cinder asks the volume service; Scoria answers from the
// report the scheduler holds, which is the same data without a round trip to the backend.
func (s *server) showCapabilities(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if f := authorizeAdmin(r, policyCapabilities); f != nil {
		return f
	}
	host := mux.Vars(r)["hostname"]
	services, err := s.store.ListServices(ctx, resource.ServiceFilter{Binary: resource.BinaryVolume})
	if err != nil {
		return err
	}
	known := false
	for _, svc := range services {
		if svc.Binary == resource.BinaryVolume && hostMatches(svc.Host, rpcapi.BackendHost(host)) {
			known = true
			break
		}
	}
	if !known {
		return wire.NotFound("Can't find service: %s", host)
	}
	pools, err := s.listPools(ctx, capabilityArgs(host))
	if err != nil {
		return err
	}
	var mine []rpcapi.PoolInfo
	backends := map[string]bool{}
	var backendList []string
	for _, p := range pools {
		if !hostMatches(p.Name, host) {
			continue
		}
		mine = append(mine, p)
		if b := rpcapi.BackendHost(p.Name); !backends[b] {
			backends[b] = true
			backendList = append(backendList, b)
		}
	}
	switch {
	case len(mine) == 0:
		return &wire.UnavailableError{Reason: fmt.Sprintf(
			"Backend %s has not reported its capabilities to the scheduler: it is down, disabled or still starting.", host)}
	case len(backendList) > 1:
		return wire.BadRequest("Host %s has several backends (%s); ask for one of them as host@backend.",
			host, strings.Join(backendList, ", "))
	}
	caps := mine[0].Capabilities
	if caps == nil {
		caps = map[string]any{}
	}
	v := capabilitiesView{
		Namespace:          "OS::Storage::Capabilities::" + host,
		VendorName:         caps["vendor_name"],
		VolumeBackendName:  caps["volume_backend_name"],
		DriverVersion:      caps["driver_version"],
		StorageProtocol:    caps["storage_protocol"],
		DisplayName:        caps["display_name"],
		Description:        caps["description"],
		Visibility:         caps["visibility"],
		ReplicationTargets: caps["replication_targets"],
		Properties:         standardProperties(),
	}
	if l, ok := v.StorageProtocol.([]any); ok && len(l) > 0 {
		v.StorageProtocol = l[0]
	}
	if v.ReplicationTargets == nil {
		v.ReplicationTargets = []any{}
	}
	// A backend's pool_name is its only pool's; a backend of several pools has none.
	if len(mine) == 1 {
		v.PoolName = caps["pool_name"]
	}
	if own, ok := caps["properties"].(map[string]any); ok {
		for k, p := range own {
			v.Properties[k] = p
		}
	}
	wire.WriteJSON(w, http.StatusOK, v)
	return nil
}

// capabilityArgs asks the scheduler for only the pools of host when it names a backend
// (host@backend) or a pool; for a bare host the pools are picked here, with Cinder's host
// matching.
func capabilityArgs(host string) rpcapi.GetPoolsArgs {
	switch {
	case strings.Contains(host, "#"):
		return rpcapi.GetPoolsArgs{Filters: map[string]string{"name": host}}
	case strings.Contains(host, "@"):
		return rpcapi.GetPoolsArgs{Filters: map[string]string{"backend": host}}
	}
	return rpcapi.GetPoolsArgs{}
}
