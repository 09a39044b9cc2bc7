//go:build !ceph

package rbd

import "github.com/scoria/scoria/pkg/driver"

// notBuilt is why a binary built without the ceph tag has no RBD driver, and how to build it in.
const notBuilt = "the Ceph RBD driver is not in this binary: it needs cgo with librados-dev and librbd-dev; " +
	"build with `make build` on a machine with those packages (it adds -tags ceph,pacific when " +
	"pkg-config finds rados and rbd) or `go build -tags ceph,pacific ./cmd/...`"

func init() {
	driver.RegisterUnavailable(Name, notBuilt, Options...)
	registerAliases()
}
