package volume

import "sync"

// volumeLocks serialises the create and the delete of one volume within this service: a
// delete that arrives while the volume's storage is being made (an admin's force delete of a
// volume in creating) waits for the create to end, then removes what it made, instead of
// running beside it and leaving a file the create finishes after the row is gone.
type volumeLocks struct {
	mu    sync.Mutex
	locks map[string]*volumeLock
}

type volumeLock struct {
	mu    sync.Mutex
	users int // holders and waiters; the entry goes when it drops to 0
}

// lock takes the lock of volume id and returns its unlock.
func (l *volumeLocks) lock(id string) (unlock func()) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*volumeLock{}
	}
	vl := l.locks[id]
	if vl == nil {
		vl = &volumeLock{}
		l.locks[id] = vl
	}
	vl.users++
	l.mu.Unlock()

	vl.mu.Lock()
	return func() {
		vl.mu.Unlock()
		l.mu.Lock()
		vl.users--
		if vl.users == 0 {
			delete(l.locks, id)
		}
		l.mu.Unlock()
	}
}
