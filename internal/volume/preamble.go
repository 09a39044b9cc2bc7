package volume

import (
	"context"
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

// object is a kind of row a message acts on (a volume, a snapshot, a group, a group
// snapshot), as the handlers' shared preamble (load) reads it.
type object[T any] struct {
	kind string // "volume", "snapshot", …: for the log line
	get  func(ctx context.Context, id string) (T, error)
	// where is the object's status and the host (host@backend#pool) it is placed on.
	where func(ctx context.Context, obj T) (status, host string, err error)
	// backend is this manager's host@backend; "" accepts the object wherever it is placed.
	backend string
}

// load is the preamble of a handler that acts on one object: it reads object id and returns
// it when it is in status want and placed on this backend. Otherwise there is nothing left for
// this backend to do (the object is gone, or it moved on, or it is another backend's: a
// duplicate or stale message): one log line says why, ok is false and the message is dropped.
// An error is a failure to read, and the message is delivered again.
func (o object[T]) load(ctx context.Context, log logrus.FieldLogger, method, id, want string) (obj T, ok bool, err error) {
	var zero T
	obj, err = o.get(ctx, id)
	if errors.Is(err, resource.ErrNotFound) {
		log.WithField("method", method).Infof("%s no longer exists; message dropped", o.kind)
		return zero, false, nil
	}
	if err != nil {
		return zero, false, fmt.Errorf("load %s %s: %w", o.kind, id, err)
	}
	status, host, err := o.where(ctx, obj)
	if err != nil {
		return zero, false, fmt.Errorf("load where %s %s is placed: %w", o.kind, id, err)
	}
	if status != want || (o.backend != "" && rpcapi.BackendHost(host) != o.backend) {
		log.WithFields(logrus.Fields{"method": method, "status": status, "placed_on": host}).
			Infof("%s no longer ours to act on; message dropped", o.kind)
		return zero, false, nil
	}
	return obj, true, nil
}

// anywhere is o accepting an object whatever backend it is placed on.
func (o object[T]) anywhere() object[T] {
	o.backend = ""
	return o
}

func (m *Manager) volumes() object[*resource.Volume] {
	return object[*resource.Volume]{kind: "volume", get: m.Store.GetVolume, backend: m.Host,
		where: func(_ context.Context, v *resource.Volume) (string, string, error) { return v.Status, v.Host, nil }}
}

func (m *Manager) snapshots() object[*resource.Snapshot] {
	return object[*resource.Snapshot]{kind: "snapshot", get: m.Store.GetSnapshot, backend: m.Host,
		where: func(_ context.Context, sn *resource.Snapshot) (string, string, error) { return sn.Status, sn.Host, nil }}
}

func (m *Manager) groups() object[*resource.Group] {
	return object[*resource.Group]{kind: "group", get: m.Store.GetGroup, backend: m.Host,
		where: func(_ context.Context, g *resource.Group) (string, string, error) { return g.Status, g.Host, nil }}
}

// groupSnapshots reads a group snapshot's host from its group (a group snapshot whose group
// is gone is placed nowhere).
func (m *Manager) groupSnapshots() object[*resource.GroupSnapshot] {
	return object[*resource.GroupSnapshot]{kind: "group snapshot", get: m.Store.GetGroupSnapshot, backend: m.Host,
		where: func(ctx context.Context, gs *resource.GroupSnapshot) (string, string, error) {
			host, err := m.Store.GroupSnapshotHost(ctx, gs.ID)
			if err != nil && !errors.Is(err, resource.ErrNotFound) {
				return "", "", err
			}
			return gs.Status, host, nil
		}}
}
