//go:build !ceph

package volumeio

import (
	"context"
	"fmt"
)

// openRBD answers ErrUnsupported: this build has no librbd (build with -tags ceph).
func (a *Attacher) openRBD(context.Context, connData, Mode) (Device, error) {
	return nil, fmt.Errorf("%w: rbd (this build has no Ceph support; build with -tags ceph)", ErrUnsupported)
}
