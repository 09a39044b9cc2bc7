//go:build !ceph

package backend

import (
	"os"
	"strings"
	"testing"
)

// Under CI=true the RBD driver and its tests must be compiled in: when the Makefile's librbd
// probe fails, this file is built instead of them, and this test keeps that from passing as
// a green run with every RBD test silently left out.
func TestRBDBuiltInCI(t *testing.T) {
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but this binary was built without the ceph tag, so no RBD test ran: " +
			"install librados-dev and librbd-dev (the Makefile then adds -tags ceph,pacific)")
	}
}

// Without the ceph tag, a section asking for RBD fails at start saying how to build it in.
func TestRBDNotBuilt(t *testing.T) {
	for _, name := range []string{"rbd", "cinder.volume.drivers.rbd.RBDDriver"} {
		_, err := New(lvmSection(t, name, "rbd_pool = volumes\n"), "")
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		for _, want := range []string{"[lvmdriver-1] volume_driver", "not in this binary", "librados-dev", "-tags ceph,pacific", "make build"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v: want %q", name, err, want)
			}
		}
	}
}
