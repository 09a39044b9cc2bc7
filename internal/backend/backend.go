// Package backend turns a backend section of the configuration into a storage driver: it
// knows Scoria's driver names and the Cinder driver class paths that alias them.
package backend

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/scoria/scoria/internal/backend/localfile"
	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/pkg/driver"
)

// factory builds a driver from its section.
type factory func(b *config.Backend, statePath string) (driver.Driver, error)

// drivers maps Scoria's driver names to their factories.
var drivers = map[string]factory{
	"localfile": newLocalFile,
	"lvm":       newLVM,
}

// planned are drivers Scoria names but this build does not provide yet.
var planned = map[string]string{
	"nfs":      "the NFS driver",
	"sheepdog": "the Sheepdog driver",
}

// aliases maps the volume_driver values of cinder.conf (and short forms) to Scoria's names.
var aliases = map[string]string{
	"localfile":        "localfile",
	"file":             "localfile",
	"scoria.localfile": "localfile",
	"lvm":              "lvm",
	"cinder.volume.drivers.lvm.LVMVolumeDriver": "lvm",
	"cinder.volume.drivers.lvm.LVMISCSIDriver":  "lvm",
	"rbd":                                 "rbd",
	"cinder.volume.drivers.rbd.RBDDriver": "rbd",
	"nfs":                                 "nfs",
	"cinder.volume.drivers.nfs.NfsDriver": "nfs",
	"sheepdog":                            "sheepdog",
	"cinder.volume.drivers.sheepdog.SheepdogDriver": "sheepdog",
}

// Resolve returns Scoria's name for a volume_driver value.
func Resolve(volumeDriver string) (string, bool) {
	name, ok := aliases[strings.TrimSpace(volumeDriver)]
	return name, ok
}

// New builds the driver of backend section b. Errors name the file, section and key.
func New(b *config.Backend, statePath string) (driver.Driver, error) {
	b.Use("volume_driver")
	name, ok := Resolve(b.VolumeDriver)
	if !ok {
		reason := fmt.Sprintf("unknown driver %q (known: %s)", b.VolumeDriver, strings.Join(known(), ", "))
		if b.VolumeDriver == "" {
			reason = "volume_driver is required"
		}
		return nil, &config.Error{File: b.File, Section: b.Name, Key: "volume_driver", Reason: reason}
	}
	f, ok := drivers[name]
	if why, unbuilt := notBuilt[name]; !ok && unbuilt {
		return nil, &config.Error{File: b.File, Section: b.Name, Key: "volume_driver", Reason: why}
	}
	if !ok {
		return nil, &config.Error{File: b.File, Section: b.Name, Key: "volume_driver",
			Reason: fmt.Sprintf("%s (%s) is not part of this Scoria release yet", planned[name], b.VolumeDriver)}
	}
	return f(b, statePath)
}

func known() []string {
	out := make([]string, 0, len(aliases))
	for k := range aliases {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func newLocalFile(b *config.Backend, statePath string) (driver.Driver, error) {
	b.Use("local_volume_dir")
	dir := b.String("local_volume_dir", filepath.Join(statePath, "volumes"))
	if !filepath.IsAbs(dir) {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, &config.Error{File: b.File, Section: b.Name, Key: "local_volume_dir", Reason: err.Error()}
		}
		dir = abs
	}
	capacity, err := b.Float("local_capacity_gb", 0)
	if err != nil {
		return nil, err
	}
	if capacity < 0 {
		return nil, &config.Error{File: b.File, Section: b.Name, Key: "local_capacity_gb", Reason: "must not be negative"}
	}
	thin, err := b.Bool("local_thin_provisioning", true)
	if err != nil {
		return nil, err
	}
	return &localfile.Driver{
		CapacityGB:  capacity,
		Thick:       !thin,
		Dir:         dir,
		BackendName: b.VolumeBackendName,
		PoolName:    b.VolumeBackendName,
		Reserved:    b.ReservedPercentage,
		OverSub:     b.MaxOverSubscriptionRatio,
	}, nil
}
