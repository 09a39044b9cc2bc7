package driver

import "time"

// ObjectKind is the kind of database row that accounts for a storage object.
type ObjectKind string

// The kinds of row a storage object belongs to.
const (
	KindVolume   ObjectKind = "volume"
	KindSnapshot ObjectKind = "snapshot"
)

// Object is one storage object a backend holds, as an inventory lists it: what the volume
// service's reconciler compares with the database. A driver that can list its storage
// implements, besides Driver,
//
//	ListObjects(ctx context.Context) ([]Object, error)   // every object Scoria named, nothing else
//	DeleteObject(ctx context.Context, o Object) error     // removes o; a missing one is fine
//
// ListObjects returns only objects whose names Scoria (or Cinder) gives — volume-<id>,
// snapshot-<id>, their temporary copies and helpers — never other data that shares the
// directory, volume group or pool.
type Object struct {
	// Name is the object's name on the backend, e.g. "volume-<id>", "volume-<id>.partial",
	// "volume-<a>@snapshot-<b>" (a snapshot that lives on an image).
	Name string
	// Kind and ID are the row that accounts for the object: for a temporary copy or a
	// helper, the row of the volume or snapshot it is being made for.
	Kind ObjectKind
	ID   string
	// Temporary is a copy in progress or a helper of one (a .partial file or volume, a
	// clone's temporary snapshot): it never stands for its row's complete object.
	Temporary bool
	// Held is an object other objects depend on (an RBD image or snapshot that has clones):
	// it is never an orphan by itself, the backend removes it with its last dependent.
	Held bool
	// Size is its size in bytes (0 when unknown).
	Size int64
	// Changed is when the object was made or last changed; zero when the backend cannot
	// tell, and then the reconciler never deletes it.
	Changed time.Time
}
