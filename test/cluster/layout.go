package cluster

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// VolumeSpec is one scoria-volume process of Options.Volumes: its host, its availability
// zone and the backends it serves, e.g. seed 002's host block2 serving lvmdriver-b21 and
// lvmdriver-b22 in az1.
type VolumeSpec struct {
	Host     string            // [DEFAULT] host
	Zone     string            // storage_availability_zone of the process, so of its backends ["" keeps nova]
	Backends []BackendSpec     // enabled_backends, in order [one BackendName section]
	Extra    map[string]string // more [DEFAULT] options of this process only (they win over Options.Extra)
	// Wrap is prepended to the process's command line at every start and restart, e.g.
	// {"unshare", "-m", "--propagation", "private", "--"} for a private mount namespace whose
	// mounts die with the process (the NFS driver's bind-mount TEST STAND-IN); empty: none.
	Wrap []string
}

// BackendSpec is one backend section of a volume process.
type BackendSpec struct {
	Name string // the section, as named in enabled_backends
	// Options are more options of the section. volume_driver [localfile], volume_backend_name
	// [Name] and local_volume_dir [BackendDir(host, Name)] are written unless given here.
	Options map[string]string
}

func volumeHostsOf(specs []VolumeSpec) []string {
	hosts := make([]string, len(specs))
	for i, s := range specs {
		hosts[i] = s.Host
	}
	return hosts
}

// volumeSpec is the spec of host's volume process: the one of Options.Volumes, or the
// default (one BackendName section).
func (c *Cluster) volumeSpec(host string) VolumeSpec {
	for _, s := range c.opts.Volumes {
		if s.Host == host {
			if len(s.Backends) == 0 {
				s.Backends = []BackendSpec{{Name: BackendName}}
			}
			return s
		}
	}
	return VolumeSpec{Host: host, Backends: []BackendSpec{{Name: BackendName}}}
}

// BackendHosts are the service hosts (host@backend) of every backend of the cluster, in the
// order of the volume processes and their enabled_backends.
func (c *Cluster) BackendHosts() []string {
	var out []string
	for _, h := range c.opts.VolumeHosts {
		for _, b := range c.volumeSpec(h).Backends {
			out = append(out, h+"@"+b.Name)
		}
	}
	return out
}

// BackendDir is the local_volume_dir of backend on host's volume process: VolumeDir(host) for
// the default backend BackendName, a directory of its own for a backend of Options.Volumes.
func (c *Cluster) BackendDir(host, backend string) string {
	if backend == BackendName {
		return c.VolumeDir(host)
	}
	return filepath.Join(c.Dir, "vols-"+host+"@"+backend)
}

// addVolumeOptions sets the [DEFAULT] options of host's volume process that its spec decides.
func (c *Cluster) addVolumeOptions(host string, opts map[string]string) {
	spec := c.volumeSpec(host)
	names := make([]string, len(spec.Backends))
	for i, b := range spec.Backends {
		names[i] = b.Name
	}
	opts["enabled_backends"] = strings.Join(names, ",")
	if spec.Zone != "" {
		opts["storage_availability_zone"] = spec.Zone
	}
	for k, v := range spec.Extra {
		opts[k] = v
	}
	// Called for every volume process before it first starts: its command wrapper too.
	if p, ok := c.procs[VolumeProcess(host)]; ok {
		p.Wrap = spec.Wrap
	}
}

// writeBackendSections writes one section per backend of host's volume process.
func (c *Cluster) writeBackendSections(b *strings.Builder, host string) {
	for _, be := range c.volumeSpec(host).Backends {
		fmt.Fprintf(b, "\n[%s]\n", be.Name)
		first := []struct{ key, def string }{
			{"volume_driver", "localfile"},
			{"volume_backend_name", be.Name},
			{"local_volume_dir", c.BackendDir(host, be.Name)},
		}
		for _, kv := range first {
			v, ok := be.Options[kv.key]
			if !ok {
				v = kv.def
			}
			fmt.Fprintf(b, "%s = %s\n", kv.key, v)
		}
		keys := make([]string, 0, len(be.Options))
		for k := range be.Options {
			switch k {
			case "volume_driver", "volume_backend_name", "local_volume_dir":
			default:
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(b, "%s = %s\n", k, be.Options[k])
		}
	}
}
