//go:build ceph

package cluster

// buildTags are the tags Build compiles the binaries with: a test binary built with the
// ceph tag (and so go-ceph's release tag) runs binaries with the RBD driver.
const buildTags = "ceph,pacific"
