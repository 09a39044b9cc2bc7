package scheduler

// Volumes made from a source (a snapshot, or another volume: a clone) are placed where the
// source is, because only that backend can read it: on the pool that holds the snapshot or
// the source volume (Cinder's resource_backend; host@backend#pool as the source's host
// names it, or any pool of host@backend when it names no pool). The pipeline still runs over
// that one pool, so the filters (zone, capacity, the type's capabilities) and the database's
// capacity claim apply as for any create: a down, disabled or full backend, or one that
// reports its storage down (backend_state 'down'), fails the volume with the usual sentence,
// never moves it. A retry finds the pool tried and fails the volume.
//
// A retype that stays on the volume's pool asks capability.Fit (the API) whether the pool's
// capabilities satisfy the new type's extra specs: the CapabilitiesFilter's own rules.

import (
	"context"
	"errors"
	"fmt"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

// SnapshotGetter is the Store method the scheduler needs to place a volume made from a
// snapshot: the snapshot's host.
type SnapshotGetter interface {
	GetSnapshot(ctx context.Context, id string) (*resource.Snapshot, error)
}

// source is where a volume made from a source must go.
type source struct {
	host   string // host@backend#pool, or host@backend
	what   string // "snapshot <id>", "volume <id>", "group <id>", for the sentence
	member bool   // a volume created into a group (what), not made from a source
}

// backend is the source's host@backend; pool its full pool name, "" for any of the backend.
func (s *source) backend() string { return rpcapi.BackendHost(s.host) }
func (s *source) pool() string {
	if rpcapi.PoolName(s.host) == "" {
		return ""
	}
	return s.host
}

// explain adds to a no-valid-backend sentence why only one pool was considered.
func (s *source) explain(reason string) string {
	if s.member {
		return fmt.Sprintf("%s (a volume created into %s is placed on the group's backend, %s)", reason, s.what, s.host)
	}
	return fmt.Sprintf("%s (a volume made from %s is placed on the backend that holds it, %s)", reason, s.what, s.host)
}

// findSource looks up where the source of a create is. nil when the create has none; a
// *NoValidBackendError when the source is gone or has no host.
func (s *Scheduler) findSource(ctx context.Context, args rpcapi.CreateVolumeArgs) (*source, error) {
	switch {
	case args.SnapshotID != "":
		what := "snapshot " + args.SnapshotID
		g, ok := s.Store.(SnapshotGetter)
		if !ok {
			return nil, &NoValidBackendError{Reason: "No valid backend: this scheduler cannot look up " + what}
		}
		sn, err := g.GetSnapshot(ctx, args.SnapshotID)
		if errors.Is(err, resource.ErrNotFound) {
			return nil, &NoValidBackendError{Reason: "No valid backend: " + what + " no longer exists"}
		}
		if err != nil {
			return nil, fmt.Errorf("look up %s: %w", what, err)
		}
		if sn.Host == "" {
			return nil, &NoValidBackendError{Reason: "No valid backend: " + what + " is on no backend"}
		}
		return &source{host: sn.Host, what: what}, nil
	case args.SourceVolID != "":
		what := "volume " + args.SourceVolID
		v, err := s.Store.GetVolume(ctx, args.SourceVolID)
		if errors.Is(err, resource.ErrNotFound) {
			return nil, &NoValidBackendError{Reason: "No valid backend: source " + what + " no longer exists"}
		}
		if err != nil {
			return nil, fmt.Errorf("look up source %s: %w", what, err)
		}
		if v.Host == "" {
			return nil, &NoValidBackendError{Reason: "No valid backend: source " + what + " is on no backend"}
		}
		return &source{host: v.Host, what: what}, nil
	}
	return nil, nil
}

// onlySource narrows the services and pools of a placement to the source's: up keeps only
// its backend, u only what concerns it (a source backend with no service row counts as
// unreported), and keep says whether a pool of that backend may be considered.
func (src *source) onlySource(up map[string]bool, u Unavailable) (map[string]bool, Unavailable) {
	b := src.backend()
	only := map[string]bool{}
	if up[b] {
		only[b] = true
	}
	mine := func(hosts []string) []string {
		for _, h := range hosts {
			if h == b {
				return []string{h}
			}
		}
		return nil
	}
	nu := Unavailable{Down: mine(u.Down), Disabled: mine(u.Disabled)}
	if !up[b] && len(nu.Down) == 0 && len(nu.Disabled) == 0 {
		nu.Unreported = []string{b}
	}
	return only, nu
}

func (src *source) keep(p *Pool) bool {
	if pool := src.pool(); pool != "" {
		return p.Name == pool
	}
	return p.Backend == src.backend()
}
