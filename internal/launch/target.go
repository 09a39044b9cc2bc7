package launch

import (
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/backend"
	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/internal/target"
	"github.com/scoria/scoria/internal/volume"
	"github.com/scoria/scoria/pkg/driver"
)

// targetHelper returns the target helper that exports the volumes of backend b (its
// target_helper), or nil when they are not exported through one: a driver whose volumes are
// neither local devices nor in a store the target daemon reaches (driver.TargetBacked),
// target_helper = none, or the local-file backend without target_helper
// in its section (its volumes then attach as local files of this host).
func targetHelper(b *config.Backend, drv driver.Driver, log logrus.FieldLogger) (volume.Exporter, error) {
	_, local := drv.(driver.LocalDevice)
	if _, backed := drv.(driver.TargetBacked); !local && !backed {
		return nil, nil
	}
	if name, _ := backend.Resolve(b.VolumeDriver); name == "localfile" && !b.Has("target_helper") {
		return nil, nil
	}
	switch b.TargetHelper {
	case "none":
		return nil, nil
	case "tgtadm":
	default:
		return nil, &config.Error{File: b.File, Section: b.Name, Key: "target_helper",
			Reason: fmt.Sprintf("%q is not implemented by Scoria: use tgtadm or none", b.TargetHelper)}
	}
	if b.TargetProtocol != "iscsi" {
		return nil, &config.Error{File: b.File, Section: b.Name, Key: "target_protocol",
			Reason: fmt.Sprintf("%q is not implemented by Scoria: tgtadm exports over iscsi", b.TargetProtocol)}
	}
	return &target.TGT{
		Config: target.Config{
			IPAddress: b.TargetIPAddress, Port: b.TargetPort, Prefix: b.TargetPrefix, VolumesDir: b.VolumesDir,
			UseCHAP: b.UseCHAPAuth, CHAPUsername: b.CHAPUsername, CHAPPassword: b.CHAPPassword,
			WriteCache: b.ISCSIWriteCache != "off",
		},
		Log: log.WithField("component", "target"),
	}, nil
}
