package localfile

import "github.com/scoria/scoria/pkg/driver"

// Name is the driver's name in volume_driver.
const Name = "localfile"

// Aliases are the other volume_driver values that select the local-file driver.
var Aliases = []string{"file", "scoria.localfile"}

// Options are the local-file driver's options, in the order the sample configuration shows
// them.
var Options = []driver.Option{
	{Name: "local_volume_dir", Type: driver.String, Help: "Directory of the volume files, made at start when missing; empty: $state_path/volumes"},
	{Name: "local_capacity_gb", Type: driver.Float, Min: 0, Default: "0", Help: "Size of the pool in GiB, a budget of its own for a directory on a shared filesystem; 0: the filesystem's size"},
	{Name: "local_thin_provisioning", Type: driver.Bool, Default: "true", Help: "Report the pool as thin (the files are sparse); false: every volume's full size counts against free capacity"},
}
