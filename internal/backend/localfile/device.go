package localfile

import "github.com/scoria/scoria/pkg/driver"

// DevicePath is the file that holds v: the local-file backend's volumes are local files, which
// a target helper (tgtadm) exports, or which a host on this machine opens directly (os-brick's
// "local" connector).
func (d *Driver) DevicePath(v driver.Volume) string { return d.path(v) }

var _ driver.LocalDevice = (*Driver)(nil)
