//go:build !ceph

package ceph

import (
	"context"
	"errors"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/backup"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/volumeio"
)

// errNotBuilt is why a binary built without the ceph tag has no ceph backup driver.
var errNotBuilt = errors.New("the ceph backup driver is not in this binary: it needs cgo with librados-dev and " +
	"librbd-dev; build with `make build` on a machine with those packages or `go build -tags ceph,pacific ./cmd/...`")

// Driver is the ceph backup driver; this build has none.
type Driver struct{}

var _ backup.Driver = (*Driver)(nil)

// NewDriver answers that this build has no Ceph.
func NewDriver(o Options, log logrus.FieldLogger) (*Driver, error) { return nil, errNotBuilt }

// Service is Cinder's name of the ceph driver.
func (d *Driver) Service() string { return Service() }

// Backup fails: this build has no Ceph.
func (d *Driver) Backup(context.Context, *resource.Backup, *resource.Backup, volumeio.Device, backup.ProgressFunc) (backup.Result, error) {
	return backup.Result{}, errNotBuilt
}

// Restore fails: this build has no Ceph.
func (d *Driver) Restore(context.Context, []*resource.Backup, string, volumeio.Device, backup.ProgressFunc) error {
	return errNotBuilt
}

// Delete fails: this build has no Ceph.
func (d *Driver) Delete(context.Context, *resource.Backup) error { return errNotBuilt }

// ExportRecord fails: this build has no Ceph.
func (d *Driver) ExportRecord(context.Context, *resource.Backup) (map[string]any, error) {
	return nil, errNotBuilt
}

// ImportRecord fails: this build has no Ceph.
func (d *Driver) ImportRecord(context.Context, *resource.Backup, map[string]any) error {
	return errNotBuilt
}
