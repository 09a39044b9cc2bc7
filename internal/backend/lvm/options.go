package lvm

import "github.com/scoria/scoria/pkg/driver"

// Name is the driver's name in volume_driver; Aliases are Cinder's class paths for it.
const Name = "lvm"

// Aliases are the other volume_driver values that select the LVM driver.
var Aliases = []string{"cinder.volume.drivers.lvm.LVMVolumeDriver", "cinder.volume.drivers.lvm.LVMISCSIDriver"}

// Options are the LVM driver's options, Cinder's names and defaults, in the order the sample
// configuration shows them.
var Options = []driver.Option{
	{Name: "volume_group", Type: driver.NonEmpty, Default: "cinder-volumes", Help: "Volume group the LVM driver makes its logical volumes in"},
	{Name: "lvm_type", Type: driver.Choice, Choices: []string{TypeDefault, TypeThin, TypeAuto}, Default: TypeDefault, Help: "default: thick logical volumes; thin: thin volumes in the pool <volume_group>-pool, made at start when missing; auto: thin when this lvm2 supports thin pools"},
	{Name: "lvm_conf_file", Type: driver.String, Default: "/etc/cinder/lvm.conf", Help: "LVM configuration file the LVM driver runs lvm with (as LVM_SYSTEM_DIR, its directory, so the file must be named lvm.conf); ignored when it does not exist; None: no file of its own"},
	{Name: "volume_clear", Type: driver.Choice, Choices: []string{ClearZero, ClearNone}, Default: ClearZero, Help: "How a thick volume is cleared before it is removed: zero writes zeros over it, none leaves its data"},
	{Name: "volume_clear_size", Type: driver.Int, Min: 0, Default: "0", Help: "MiB to zero at the start of a cleared volume; 0: all of it"},
	{Name: "lvm_suppress_fd_warnings", Type: driver.Bool, Default: "false", Help: "Run lvm with LVM_SUPPRESS_FD_WARNINGS=1, silencing its warnings about inherited file descriptors"},
	{Name: "lvm_binary", Type: driver.NonEmpty, Default: "lvm", Help: "The lvm binary (a path, or a name looked up in PATH) every LVM command runs as a subcommand of"},
	{Name: "lvm_command_timeout", Type: driver.Seconds, Min: 1, Default: "120", Help: "Seconds an LVM command may run before it is killed"},
}
