package chunked

import (
	"context"
	"errors"
	"io"
)

// ErrNotFound is what a Store answers (wrapped) for an object that does not exist.
var ErrNotFound = errors.New("backup object not found")

// Store is the object store a chunked backup is written to: named objects in named
// containers (a posix directory and its files, a Swift container, an S3 bucket). Cinder's
// put_container, get_container_entries, get_object_writer, get_object_reader and
// delete_object.
type Store interface {
	// Put stores the object from r, creating the container if needed. The object
	// appears whole or not at all: a Put that fails or is cancelled leaves no object
	// under name (a store may leave a temporary entry whose name starts with name;
	// Delete of everything listed under a backup's prefix removes it).
	Put(ctx context.Context, container, name string, r io.Reader) error
	// Get opens the object for reading; an absent object (or container) answers an
	// error wrapping ErrNotFound. The caller closes the reader.
	Get(ctx context.Context, container, name string) (io.ReadCloser, error)
	// Delete removes the object; an absent object (or container) is not an error.
	Delete(ctx context.Context, container, name string) error
	// List answers the names in the container that start with prefix, sorted; an
	// absent container has no names.
	List(ctx context.Context, container, prefix string) ([]string, error)
}
