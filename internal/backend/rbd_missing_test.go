//go:build !ceph

package backend

import (
	"strings"
	"testing"
)

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
