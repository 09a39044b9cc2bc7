package volumeio

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// secretID is the id of the secret object holding a CHAP password on qemu-img's command line.
const secretID = "volumeio-chap"

// iscsiLUN is an iSCSI LUN from os-brick's iscsi connection info.
type iscsiLUN struct {
	portal, iqn    string
	lun            int64
	user, password string // CHAP; "" without
}

// parseISCSI reads target_portal (or the first of target_portals), target_iqn (or
// target_iqns), target_lun (or target_luns) and, with auth_method CHAP, auth_username and
// auth_password.
func parseISCSI(data connData) (iscsiLUN, error) {
	var l iscsiLUN
	var err error
	first := func(one, many string) (string, error) {
		v, err := data.str(one)
		if err != nil || v != "" {
			return v, err
		}
		all, err := data.strings(many)
		if err != nil || len(all) == 0 {
			return "", fmt.Errorf("connection info has no %s", one)
		}
		return all[0], nil
	}
	if l.portal, err = first("target_portal", "target_portals"); err != nil {
		return l, err
	}
	if l.iqn, err = first("target_iqn", "target_iqns"); err != nil {
		return l, err
	}
	if _, ok := data["target_lun"]; ok {
		l.lun, err = data.integer("target_lun")
	} else {
		var luns []string
		if luns, err = data.strings("target_luns"); err == nil && len(luns) > 0 {
			l.lun, err = strconv.ParseInt(luns[0], 10, 64)
		} else if err == nil {
			err = fmt.Errorf("connection info has no target_lun")
		}
	}
	if err != nil {
		return l, err
	}
	if l.lun < 0 {
		return l, fmt.Errorf("connection info target_lun %d is negative", l.lun)
	}
	method, err := data.str("auth_method")
	if err != nil {
		return l, err
	}
	switch strings.ToUpper(method) {
	case "", "NONE":
	case "CHAP":
		if l.user, err = data.required("auth_username"); err != nil {
			return l, err
		}
		if l.password, err = data.required("auth_password"); err != nil {
			return l, err
		}
	default:
		return l, fmt.Errorf("connection info auth_method %q: only CHAP is supported", method)
	}
	return l, nil
}

// imageOpts is qemu's option list of the LUN for --image-opts: the libiscsi driver, the
// CHAP password by reference to the secret object of secretArgs.
func (l iscsiLUN) imageOpts() string {
	opts := []string{"driver=iscsi", "transport=tcp", "portal=" + qemuOpt(l.portal),
		"target=" + qemuOpt(l.iqn), "lun=" + strconv.FormatInt(l.lun, 10)}
	if l.user != "" {
		opts = append(opts, "user="+qemuOpt(l.user), "password-secret="+secretID)
	}
	return strings.Join(opts, ",")
}

// secretArgs defines the secret object read from the pipe qemuImg passes the password in.
func (l iscsiLUN) secretArgs() []string {
	if l.user == "" {
		return nil
	}
	return []string{"--object", "secret,id=" + secretID + ",file=" + secretFD}
}

// String names the LUN for messages and logs, without credentials.
func (l iscsiLUN) String() string { return fmt.Sprintf("iscsi %s %s lun %d", l.portal, l.iqn, l.lun) }

// openISCSI opens os-brick's "iscsi" connection through qemu-img's libiscsi driver, as this
// host may have no kernel initiator: the LUN is staged as a raw scratch file, a copy of it
// (ReadOnly) or zeros of its size written onto it at Close (ReadWrite). The CHAP password
// reaches qemu-img through a pipe, never its command line.
func (a *Attacher) openISCSI(ctx context.Context, data connData, mode Mode) (dev Device, err error) {
	l, err := parseISCSI(data)
	if err != nil {
		return nil, err
	}
	src := append(l.secretArgs(), "--image-opts", l.imageOpts())
	ii, err := qemuInfo(ctx, l.password, src...)
	if err != nil {
		return nil, fmt.Errorf("size of %s: %w", l, err)
	}
	size := ii.VirtualSize
	if mode == ReadOnly {
		size = 0
	}
	scratch, err := a.newScratch(size)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(scratch)
		}
	}()
	if mode == ReadOnly {
		args := append([]string{"convert"}, src...)
		if _, err := qemuImg(ctx, l.password, append(args, "-O", "raw", scratch)...); err != nil {
			return nil, fmt.Errorf("copy %s: %w", l, err)
		}
	}
	fd, err := openFile(scratch, mode)
	if err != nil {
		return nil, err
	}
	fd.scratch = scratch
	if fd.size != ii.VirtualSize {
		_ = fd.Close()
		return nil, fmt.Errorf("copy of %s has %d bytes, the LUN %d", l, fd.size, ii.VirtualSize)
	}
	if mode == ReadWrite {
		bg := context.WithoutCancel(ctx)
		fd.writeBack = func() error {
			args := append([]string{"convert", "-n", "-f", "raw"}, l.secretArgs()...)
			args = append(args, "--target-image-opts", scratch, l.imageOpts())
			if _, err := qemuImg(bg, l.password, args...); err != nil {
				return fmt.Errorf("write back %s: %w", l, err)
			}
			return nil
		}
	}
	return fd, nil
}
