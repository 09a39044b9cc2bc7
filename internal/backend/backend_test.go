package backend

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/scoria/scoria/internal/backend/localfile"
)

// TestVolumeDriverErrors: a section whose volume_driver selects no driver this binary can
// build fails at start, naming the file, the section and volume_driver.
func TestVolumeDriverErrors(t *testing.T) {
	tests := []struct{ value, want string }{
		{"", "volume_driver is required"},
		{"cinder.volume.drivers.lvm.Other", `unknown driver "cinder.volume.drivers.lvm.Other" (known: acme, cinder.volume.drivers.acme.AcmeDriver, ` +
			"cinder.volume.drivers.lvm.LVMISCSIDriver, cinder.volume.drivers.lvm.LVMVolumeDriver, cinder.volume.drivers.nfs.NfsDriver, " +
			"cinder.volume.drivers.rbd.RBDDriver, cinder.volume.drivers.sheepdog.SheepdogDriver, file, localfile, lvm, nfs, rbd, " +
			"scoria.localfile, sheepdog)"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			b := lvmSection(t, tt.value, "")
			_, err := New(b, "")
			if want := b.File + ": [lvmdriver-1] volume_driver: " + tt.want; err == nil || err.Error() != want {
				t.Errorf("error %v\nwant  %s", err, want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	for value, want := range map[string]string{
		"localfile": "localfile", "file": "localfile", "scoria.localfile": "localfile", " lvm ": "lvm",
		"cinder.volume.drivers.lvm.LVMISCSIDriver": "lvm", "cinder.volume.drivers.rbd.RBDDriver": "rbd", "nfs": "nfs", "cinder.volume.drivers.nfs.NfsDriver": "nfs", "sheepdog": "sheepdog", "cinder.volume.drivers.sheepdog.SheepdogDriver": "sheepdog", "x": "",
	} {
		if got, ok := Resolve(value); got != want || ok != (want != "") {
			t.Errorf("Resolve(%q) = %q, %v; want %q", value, got, ok, want)
		}
	}
}

func TestNewLocalFile(t *testing.T) {
	tests := []struct {
		name, extra, statePath string
		want                   localfile.Driver
		err                    string // after "<file>: [lvmdriver-1] "
	}{
		{"defaults", "", "/var/lib/scoria",
			localfile.Driver{Dir: "/var/lib/scoria/volumes", BackendName: "lvmdriver-1", PoolName: "lvmdriver-1", OverSub: "20.0"}, ""},
		{"set", "local_volume_dir = /srv/v\nlocal_capacity_gb = 2.5\nlocal_thin_provisioning = false\nvolume_backend_name = files\n" +
			"reserved_percentage = 3\nmax_over_subscription_ratio = auto\n", "",
			localfile.Driver{Dir: "/srv/v", CapacityGB: 2.5, Thick: true, BackendName: "files", PoolName: "files", Reserved: 3, OverSub: "auto"}, ""},
		{"negative capacity", "local_capacity_gb = -1\n", "", localfile.Driver{}, `local_capacity_gb: "-1" must be at least 0`},
		{"bad capacity", "local_capacity_gb = lots\n", "", localfile.Driver{}, `local_capacity_gb: "lots" is not a number`},
		{"bad thin", "local_thin_provisioning = maybe\n", "", localfile.Driver{},
			`local_thin_provisioning: "maybe" is not a boolean: write true or false (or yes/no, on/off, 1/0)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := lvmSection(t, "localfile", tt.extra)
			d, err := New(b, tt.statePath)
			if tt.err != "" {
				if want := b.File + ": [lvmdriver-1] " + tt.err; err == nil || err.Error() != want {
					t.Fatalf("error %v\nwant  %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := *d.(*localfile.Driver); got != tt.want {
				t.Errorf("built %+v\nwant  %+v", got, tt.want)
			}
		})
	}
	// A relative directory is made absolute.
	d, err := New(lvmSection(t, "file", "local_volume_dir = rel\n"), "")
	if abs, _ := filepath.Abs("rel"); err != nil || d.(*localfile.Driver).Dir != abs {
		t.Errorf("relative dir: %v, %v", d, err)
	}
}

// TestUnusedKeys: after New, the keys the driver declared are understood, whether or not its
// factory read them; the others are left for the "ignored" log.
func TestUnusedKeys(t *testing.T) {
	b := lvmSection(t, "lvm", "volume_group = vg0\nvolume_clear_size = 5\nlvm_mirrors = 2\niscsi_helper = tgtadm\n")
	if _, err := New(b, ""); err != nil {
		t.Fatal(err)
	}
	if got, want := b.UnusedKeys(), []string{"iscsi_helper", "lvm_mirrors"}; !slices.Equal(got, want) {
		t.Errorf("UnusedKeys = %q, want %q", got, want)
	}
}
