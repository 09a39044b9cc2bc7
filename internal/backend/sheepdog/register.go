package sheepdog

import (
	"net"
	"strconv"

	"github.com/scoria/scoria/internal/sheep"
	"github.com/scoria/scoria/pkg/driver"
)

func init() {
	driver.Register(Name, FromOptions, Options...)
	for _, a := range Aliases {
		driver.RegisterAlias(a, Name)
	}
}

// FromOptions builds the Sheepdog driver from its backend section: the driver.Factory it
// registers. Its single pool is named after volume_backend_name.
func FromOptions(o driver.Options) (driver.Driver, error) {
	addr, err := o.String("sheepdog_store_address")
	if err != nil {
		return nil, err
	}
	port, err := o.Int("sheepdog_store_port")
	if err != nil {
		return nil, err
	}
	if port > 9999 {
		return nil, o.Invalid("sheepdog_store_port", "tgt's sheepdog store, which exports the volumes over iSCSI, reads at most 4 digits of a port: use a port up to 9999")
	}
	timeout, err := o.Seconds("sheepdog_op_timeout")
	if err != nil {
		return nil, err
	}
	return &Driver{
		BackendName: o.BackendName(),
		Address:     addr,
		Port:        port,
		Client:      sheep.New(net.JoinHostPort(addr, strconv.Itoa(port)), sheep.Options{Timeout: timeout}),
		Reserved:    o.ReservedPercentage(),
		OverSub:     o.MaxOverSubscriptionRatio(),
	}, nil
}
