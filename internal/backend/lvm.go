package backend

import (
	"time"

	"github.com/scoria/scoria/internal/backend/lvm"
	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/pkg/driver"
)

// newLVM builds the LVM driver from Cinder's options (defaults in config's driver table).
func newLVM(b *config.Backend, _ string) (driver.Driver, error) {
	def := func(name string) string { return config.DriverDefault("lvm", name) }
	vg := b.String("volume_group", def("volume_group"))
	if vg == "" {
		return nil, &config.Error{File: b.File, Section: b.Name, Key: "volume_group", Reason: "must not be empty"}
	}
	typ, err := b.OneOf("lvm_type", def("lvm_type"), lvm.TypeDefault, lvm.TypeThin, lvm.TypeAuto)
	if err != nil {
		return nil, err
	}
	clear, err := b.OneOf("volume_clear", def("volume_clear"), lvm.ClearZero, lvm.ClearNone)
	if err != nil {
		return nil, err
	}
	clearSize, err := b.Int("volume_clear_size", 0)
	if err != nil {
		return nil, err
	}
	if clearSize < 0 {
		return nil, &config.Error{File: b.File, Section: b.Name, Key: "volume_clear_size", Reason: "must not be negative"}
	}
	suppress, err := b.Bool("lvm_suppress_fd_warnings", false)
	if err != nil {
		return nil, err
	}
	timeout, err := b.Int("lvm_command_timeout", 120)
	if err != nil {
		return nil, err
	}
	if timeout < 1 {
		return nil, &config.Error{File: b.File, Section: b.Name, Key: "lvm_command_timeout", Reason: "must be at least 1"}
	}
	bin := b.String("lvm_binary", def("lvm_binary"))
	if bin == "" {
		return nil, &config.Error{File: b.File, Section: b.Name, Key: "lvm_binary", Reason: "must not be empty"}
	}
	b.Use("target_helper", "target_protocol") // read by the volume service's target layer
	return &lvm.Driver{
		VolumeGroup:        vg,
		Type:               typ,
		ConfFile:           b.String("lvm_conf_file", def("lvm_conf_file")),
		Clear:              clear,
		ClearSizeMiB:       clearSize,
		SuppressFDWarnings: suppress,
		LVMBinary:          bin,
		Timeout:            time.Duration(timeout) * time.Second,
		BackendName:        b.VolumeBackendName,
		Reserved:           b.ReservedPercentage,
		OverSub:            b.MaxOverSubscriptionRatio,
	}, nil
}
