//go:build !ceph

package backend

// notBuilt are drivers this binary was built without, with how to build them in.
var notBuilt = map[string]string{
	"rbd": "the Ceph RBD driver is not in this binary: it needs cgo with librados-dev and librbd-dev; " +
		"build with `make build` on a machine with those packages (it adds -tags ceph,pacific when " +
		"pkg-config finds rados and rbd) or `go build -tags ceph,pacific ./cmd/...`",
}
