package localfile

import (
	"path/filepath"

	"github.com/scoria/scoria/pkg/driver"
)

func init() {
	driver.Register(Name, FromOptions, Options...)
	for _, a := range Aliases {
		driver.RegisterAlias(a, Name)
	}
}

// FromOptions builds the local-file driver from its backend section: the driver.Factory it
// registers. Its single pool is named after volume_backend_name.
func FromOptions(o driver.Options) (driver.Driver, error) {
	dir, err := o.String("local_volume_dir")
	if err != nil {
		return nil, err
	}
	if dir == "" {
		dir = filepath.Join(o.StatePath(), "volumes")
	}
	if !filepath.IsAbs(dir) {
		if dir, err = filepath.Abs(dir); err != nil {
			return nil, o.Invalid("local_volume_dir", err.Error())
		}
	}
	capacity, err := o.Float("local_capacity_gb")
	if err != nil {
		return nil, err
	}
	thin, err := o.Bool("local_thin_provisioning")
	if err != nil {
		return nil, err
	}
	return &Driver{
		CapacityGB:  capacity,
		Thick:       !thin,
		Dir:         dir,
		BackendName: o.BackendName(),
		PoolName:    o.BackendName(),
		Reserved:    o.ReservedPercentage(),
		OverSub:     o.MaxOverSubscriptionRatio(),
	}, nil
}
