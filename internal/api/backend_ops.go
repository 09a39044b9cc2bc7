package api

// Optional backend operations: snapshots, volumes from snapshots, clones, extend and revert
// are capabilities a driver may lack (pkg/driver/optional.go). Each volume service reports
// those its driver has (capability supported_operations), and the scheduler records them in
// the pools table with the pool's figures. The API reads that row — no RPC on the request
// path — and refuses an operation the pool holding the object is known not to support, with
// a 400 before anything changes. When it is not known (no row yet, or a service that does
// not report them) the request goes through, and a backend without the operation fails it
// safely (error status and a user message).

import (
	"context"
	"slices"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// backendOpsStore is what this area needs of the database.
type backendOpsStore interface {
	// PoolOperations returns the optional operations (resource.Op*) pool's backend last
	// reported; known is false when that is not known.
	PoolOperations(ctx context.Context, pool string) (ops []string, known bool, err error)
}

// backendOpText is how a refusal names each optional operation.
var backendOpText = map[string]string{
	resource.OpSnapshot:           "snapshots",
	resource.OpCreateFromSnapshot: "creating volumes from snapshots",
	resource.OpClone:              "cloning volumes",
	resource.OpExtend:             "extending volumes",
	resource.OpRevert:             "reverting volumes to snapshots",
}

// requireBackendOp answers 400 when pool (host@backend#pool), which holds the object kind
// ("volume" or "snapshot") id, is known not to support op; nil when it supports it, when that
// is not known, or when the object is on no pool.
func (s *server) requireBackendOp(ctx context.Context, pool, op, kind, id string) error {
	if pool == "" {
		return nil
	}
	ops, known, err := s.store.PoolOperations(ctx, pool)
	if err != nil {
		return err
	}
	if !known || slices.Contains(ops, op) {
		return nil
	}
	backend, _, _ := strings.Cut(pool, "#")
	reqctx.Log(ctx, s.log).WithFields(map[string]any{kind + "_id": id, "pool": pool, "operation": op}).
		Info("refused: the backend does not support the operation")
	return wire.BadRequest("Invalid %s: the backend %s of %s %s does not support %s.", kind, backend, kind, id, backendOpText[op])
}

// sourceSupported refuses a create from src whose backend is known not to make volumes from
// it: from a snapshot, the pool that holds the snapshot (the volume's pool when it was
// taken); from a volume, the source volume's pool.
func (s *server) sourceSupported(ctx context.Context, src *sourceOf) error {
	if sn := src.snapshot; sn != nil {
		pool := sn.Host
		if pool == "" && src.volume != nil {
			pool = src.volume.Host
		}
		return s.requireBackendOp(ctx, pool, resource.OpCreateFromSnapshot, "snapshot", sn.ID)
	}
	return s.requireBackendOp(ctx, src.volume.Host, resource.OpClone, "volume", src.volume.ID)
}
