package driver

import "errors"

// The typed errors of a driver. A driver wraps its failures with them (fmt.Errorf("…: %w",
// driver.ErrNotFound), or Mark to keep a message as it is), and callers test for them with
// errors.Is, never by reading messages. The volume service still logs and stores the full
// message; the kind says what happened.
var (
	// ErrNotFound is an object an operation needs that does not exist: the volume of a
	// snapshot, extend or revert, the snapshot of a volume from a snapshot or a revert, the
	// source volume of a clone. A delete of a missing object is not an error at all.
	ErrNotFound = errors.New("not found")
	// ErrNoSpace is a backend without room for what was asked (a full volume group, pool or
	// filesystem, a pool quota).
	ErrNoSpace = errors.New("no space left on the backend")
	// ErrBusy is an object that cannot be changed now because others depend on it (Cinder's
	// VolumeIsBusy and SnapshotIsBusy: a volume with snapshots, a snapshot with clones).
	ErrBusy = errors.New("in use")
	// ErrUnavailable is a backend that does not answer (an unreachable cluster, a timeout):
	// the same call may succeed later.
	ErrUnavailable = errors.New("backend unavailable")
)

// Mark returns an error with err's message for which errors.Is reports both err (and what
// err wraps) and kind: a driver types an error without changing the message it logs, e.g.
// driver.Mark(err, driver.ErrNotFound). Mark of a nil err is nil.
func Mark(err, kind error) error {
	if err == nil {
		return nil
	}
	return &marked{err: err, kind: kind}
}

type marked struct{ err, kind error }

func (m *marked) Error() string   { return m.err.Error() }
func (m *marked) Unwrap() []error { return []error{m.err, m.kind} }
