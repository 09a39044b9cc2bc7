//go:build !ceph

package cluster

// buildTags are the tags Build compiles the binaries with: none without the ceph tag (the
// tags in GOFLAGS, as `make test` sets them, still apply).
const buildTags = ""
