package lvm

import "github.com/scoria/scoria/pkg/driver"

func init() {
	driver.Register(Name, FromOptions, Options...)
	for _, a := range Aliases {
		driver.RegisterAlias(a, Name)
	}
}

// FromOptions builds the LVM driver from its backend section: the driver.Factory it
// registers. The values were checked against their declarations in Options.
func FromOptions(o driver.Options) (driver.Driver, error) {
	d := &Driver{BackendName: o.BackendName(), Reserved: o.ReservedPercentage(), OverSub: o.MaxOverSubscriptionRatio()}
	var err error
	if d.VolumeGroup, err = o.String("volume_group"); err != nil {
		return nil, err
	}
	if d.Type, err = o.String("lvm_type"); err != nil {
		return nil, err
	}
	if d.ConfFile, err = o.String("lvm_conf_file"); err != nil {
		return nil, err
	}
	if d.Clear, err = o.String("volume_clear"); err != nil {
		return nil, err
	}
	if d.ClearSizeMiB, err = o.Int("volume_clear_size"); err != nil {
		return nil, err
	}
	if d.SuppressFDWarnings, err = o.Bool("lvm_suppress_fd_warnings"); err != nil {
		return nil, err
	}
	if d.LVMBinary, err = o.String("lvm_binary"); err != nil {
		return nil, err
	}
	if d.Timeout, err = o.Seconds("lvm_command_timeout"); err != nil {
		return nil, err
	}
	o.Use("target_helper", "target_protocol") // read by the volume service's target layer
	return d, nil
}
