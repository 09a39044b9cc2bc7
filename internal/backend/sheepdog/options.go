package sheepdog

import "github.com/scoria/scoria/pkg/driver"

// Name is the driver's name in volume_driver.
const Name = "sheepdog"

// Aliases are the other volume_driver values that select the Sheepdog driver: Cinder's class
// path.
var Aliases = []string{"cinder.volume.drivers.sheepdog.SheepdogDriver"}

// Options are the Sheepdog driver's options: Cinder's, and the bound on each call.
var Options = []driver.Option{
	{Name: "sheepdog_store_address", Type: driver.NonEmpty, Default: "127.0.0.1", Help: "IP address of the sheep daemon the volume service (and tgtd, which exports the volumes) talks to"},
	{Name: "sheepdog_store_port", Type: driver.Int, Default: "7000", Min: 1, Help: "Port of the sheep daemon (at most 9999: tgt's sheepdog store cuts longer port numbers)"},
	{Name: "sheepdog_op_timeout", Type: driver.Seconds, Default: "30", Min: 1, Help: "Seconds each request to sheep may take before the call fails and the connection is dropped (Scoria's)"},
}
