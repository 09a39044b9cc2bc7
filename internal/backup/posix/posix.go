// Package posix is Cinder's posix backup store (cinder/backup/drivers/posix.py): a
// chunked.Store on a directory, backup_posix_path, each container a directory under it
// (by default "<id[0:2]>/<id[2:4]>/<id>" of the backup id) and each object a file in it.
// The NFS backup driver reuses it on a mounted share, as Cinder's nfs driver subclasses
// posix.
//
// It holds Options (Cinder's backup_posix_path, backup_container,
// backup_create_containers), Store, Cinder's naming of containers (ContainerName) and
// object prefixes (ObjectPrefix), and Driver (driver.go, NewDriver, DriverOptions): the
// backup.Driver on a Store and the chunked engine, which the NFS driver runs on its
// mounted share.
//
// Objects are written to a temporary file next to their final name ("<name>.part-<random>",
// listed under the backup's prefix so a backup's delete removes a crashed write's
// leftover), fsynced, renamed over the final name and the directory fsynced: an object
// is whole or absent, after a crash too. Directories are created 0770 and files 0660,
// Cinder's permissions.
package posix

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/scoria/scoria/internal/backup/chunked"
)

// Options are the posix store's settings, under Cinder's option names.
type Options struct {
	// Path is backup_posix_path (default $state_path/backup): where backups are stored.
	Path string
	// Container is backup_container (default unset). Cinder declares it for posix, but
	// its posix driver always names a container itself (update_container_name), so Cinder
	// never uses it; Scoria's Driver does (DriverOptions.DefaultContainer), for a backup
	// whose request names no container.
	Container string
	// CreateContainers is backup_create_containers (default true): when false, a
	// container directory must already exist.
	CreateContainers bool
}

// DefaultOptions answers Cinder's defaults for a service whose state_path is statePath.
func DefaultOptions(statePath string) Options {
	return Options{Path: filepath.Join(statePath, "backup"), CreateContainers: true}
}

// ContainerName answers a backup's container as Cinder's posix driver names it: the one
// asked for, else "<id[0:2]>/<id[2:4]>/<id>".
func ContainerName(backupID, requested string) string {
	if requested != "" {
		return requested
	}
	if len(backupID) < 4 {
		return backupID
	}
	return filepath.Join(backupID[0:2], backupID[2:4], backupID)
}

// ObjectPrefix answers a backup's object prefix (Cinder's service_metadata) as the
// posix driver makes it: "volume_<volume id>_<UTC YYYYmmddHHMMSS>_backup_<backup id>".
func ObjectPrefix(volumeID, backupID string, now time.Time) string {
	return fmt.Sprintf("volume_%s_%s_backup_%s", volumeID, now.UTC().Format("20060102150405"), backupID)
}

const (
	dirMode  = 0o770
	fileMode = 0o660
	// partInfix marks a temporary file: "<name>.part-<random>".
	partInfix = ".part-"
)

// Store is a chunked.Store on a directory.
type Store struct {
	root   string
	create bool
}

var _ chunked.Store = (*Store)(nil)

// New answers the store of opts. The directory need not exist yet (it is created with
// the first container) but must be named.
func New(opts Options) (*Store, error) {
	if opts.Path == "" {
		return nil, fmt.Errorf("%w: backup_posix_path is not set", chunked.ErrInvalid)
	}
	root, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("backup_posix_path %q: %w", opts.Path, err)
	}
	if fi, err := os.Stat(root); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("%w: backup_posix_path %s is not a directory", chunked.ErrInvalid, root)
	}
	return &Store{root: root, create: opts.CreateContainers}, nil
}

// Root answers the directory backups are stored in.
func (s *Store) Root() string { return s.root }

// containerPath answers the directory of a container, refusing names that would leave
// the root.
func (s *Store) containerPath(container string) (string, error) {
	if container == "" {
		return "", fmt.Errorf("%w: empty container name", chunked.ErrInvalid)
	}
	if filepath.IsAbs(container) || strings.ContainsRune(container, 0) {
		return "", fmt.Errorf("%w: container %q must be a relative path", chunked.ErrInvalid, container)
	}
	for _, part := range strings.Split(container, "/") {
		if part == "" || part == "." || part == ".." {
			return "", fmt.Errorf("%w: container %q has an empty, . or .. element", chunked.ErrInvalid, container)
		}
	}
	return filepath.Join(s.root, container), nil
}

func (s *Store) objectPath(container, name string) (dir, path string, err error) {
	dir, err = s.containerPath(container)
	if err != nil {
		return "", "", err
	}
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return "", "", fmt.Errorf("%w: object name %q", chunked.ErrInvalid, name)
	}
	return dir, filepath.Join(dir, name), nil
}

// Put writes the object to a temporary file, fsyncs it, renames it to its name and
// fsyncs the directory. The container is created if needed (and allowed).
func (s *Store) Put(ctx context.Context, container, name string, r io.Reader) (err error) {
	dir, path, err := s.objectPath(container, name)
	if err != nil {
		return err
	}
	if err := s.ensureContainer(dir, container); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, name+partInfix+"*")
	if err != nil {
		return fmt.Errorf("creating a temporary file for %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(fileMode); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if _, err := io.Copy(tmp, ctxReader{ctx: ctx, r: r}); err != nil {
		return fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp.Name(), err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("renaming %s to %s: %w", tmp.Name(), path, err)
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	return nil
}

// ensureContainer creates the container's directories (Cinder's put_container), each
// new one 0770 and recorded in its parent by an fsync.
func (s *Store) ensureContainer(dir, container string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%w: container %s is not a directory", chunked.ErrInvalid, dir)
		}
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("container %s: %w", dir, err)
	}
	if !s.create {
		return fmt.Errorf("%w: backup directory for container %s does not exist and backup_create_containers is false",
			chunked.ErrNotFound, container)
	}
	// Create from the top down so each new directory gets its mode and its fsync.
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
		if d == filepath.Dir(d) {
			break
		}
	}
	slices.Reverse(missing)
	for _, d := range missing {
		if err := os.Mkdir(d, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("creating container directory %s: %w", d, err)
		}
		if err := os.Chmod(d, dirMode); err != nil {
			return fmt.Errorf("chmod %s: %w", d, err)
		}
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// Get opens the object's file.
func (s *Store) Get(ctx context.Context, container, name string) (io.ReadCloser, error) {
	_, path, err := s.objectPath(container, name)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, chunked.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return f, nil
}

// Delete removes the object's file; an absent one is fine.
func (s *Store) Delete(ctx context.Context, container, name string) error {
	_, path, err := s.objectPath(container, name)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", path, err)
	}
	return nil
}

// List answers the container's files whose names start with prefix, sorted.
func (s *Store) List(ctx context.Context, container, prefix string) ([]string, error) {
	dir, err := s.containerPath(container)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	return names, nil // ReadDir sorts by name
}

// RemoveContainer removes the container's directory and its emptied parents up to the
// root, if they are empty (Cinder leaves them: its posix delete_object has a TODO for
// it). A non-empty or absent container is left alone.
func (s *Store) RemoveContainer(container string) error {
	dir, err := s.containerPath(container)
	if err != nil {
		return err
	}
	for d := dir; d != s.root && strings.HasPrefix(d, s.root+string(filepath.Separator)); d = filepath.Dir(d) {
		if err := os.Remove(d); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if isNotEmpty(err) {
				return nil
			}
			return fmt.Errorf("removing container directory %s: %w", d, err)
		}
	}
	return nil
}

func isNotEmpty(err error) bool {
	return errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening directory %s to fsync it: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// ctxReader stops a copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
