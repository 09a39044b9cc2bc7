package config

import (
	"slices"
	"sync"
	"testing"
)

func lvmBackend(t *testing.T) (*Backend, string) {
	t.Helper()
	p := conf(t, `[DEFAULT]
enabled_backends = lvm
[lvm]
volume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver
reserved_percentage = 5
volume_group = cinder-volumes
volume_clear = foo
volume_clear_size = 50
bad_int = 5x
lvm_mirrors = -2
thin = Yes
bad_bool = sure
ratio = 2.5
bad_float = fast
volume_copy_bps_limit =
target_ip_address_list = 10.0.0.1, 10.0.0.2,
Upper_Key = v
`)
	c := mustLoad(t, []string{p})
	return backend(t, c, "lvm"), p
}

func TestBackendAccessors(t *testing.T) {
	b, p := lvmBackend(t)
	if got := b.String("volume_group", "def"); got != "cinder-volumes" {
		t.Errorf("String(volume_group) = %q", got)
	}
	if got := b.String("missing", "def"); got != "def" {
		t.Errorf("String(missing) = %q, want the default", got)
	}
	if got := b.String("UPPER_KEY", ""); got != "v" {
		t.Errorf("String(UPPER_KEY) = %q: keys ignore case", got)
	}
	if got := b.List("target_ip_address_list", nil); !slices.Equal(got, []string{"10.0.0.1", "10.0.0.2"}) {
		t.Errorf("List = %q", got)
	}
	if got := b.List("missing", []string{"d"}); !slices.Equal(got, []string{"d"}) {
		t.Errorf("List(missing) = %q", got)
	}

	tests := []struct {
		name    string
		get     func() (any, error)
		want    any
		wantErr string // {file} stands for the file
	}{
		{"Int", func() (any, error) { return b.Int("volume_clear_size", 0) }, 50, ""},
		{"Int negative", func() (any, error) { return b.Int("lvm_mirrors", 0) }, -2, ""},
		{"Int default", func() (any, error) { return b.Int("missing", 7) }, 7, ""},
		{"Int empty is default", func() (any, error) { return b.Int("volume_copy_bps_limit", 7) }, 7, ""},
		{"Int bad", func() (any, error) { return b.Int("bad_int", 7) }, 7, `{file}: [lvm] bad_int: "5x" is not an integer`},
		{"Bool", func() (any, error) { return b.Bool("thin", false) }, true, ""},
		{"Bool default", func() (any, error) { return b.Bool("missing", true) }, true, ""},
		{"Bool bad", func() (any, error) { return b.Bool("bad_bool", false) }, false,
			`{file}: [lvm] bad_bool: "sure" is not a boolean: write true or false (or yes/no, on/off, 1/0)`},
		{"Float", func() (any, error) { return b.Float("ratio", 1) }, 2.5, ""},
		{"Float default", func() (any, error) { return b.Float("missing", 1.5) }, 1.5, ""},
		{"Float bad", func() (any, error) { return b.Float("bad_float", 1) }, 1.0, `{file}: [lvm] bad_float: "fast" is not a number`},
		{"OneOf default", func() (any, error) { return b.OneOf("missing", "zero", "zero", "none") }, "zero", ""},
		{"OneOf bad", func() (any, error) { return b.OneOf("volume_clear", "zero", "zero", "none") }, "zero",
			`{file}: [lvm] volume_clear: "foo" is not one of zero, none`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.get()
			if got != tt.want {
				t.Errorf("value = %v, want %v", got, tt.want)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("error = %v", err)
			case tt.wantErr != "":
				if want := fill(tt.wantErr, p); err == nil || err.Error() != want {
					t.Errorf("error = %v\nwant  %s", err, want)
				}
				configErrors(t, err)
			}
		})
	}
}

func TestBackendKeysAndUse(t *testing.T) {
	b, _ := lvmBackend(t)
	if !b.Has("volume_group") || !b.Has("Volume_Group") || b.Has("missing") || !b.Has("reserved_percentage") {
		t.Error("Has: want volume_group and reserved_percentage (any case), not missing")
	}
	all := []string{"bad_bool", "bad_float", "bad_int", "lvm_mirrors", "ratio", "reserved_percentage", "target_ip_address_list",
		"thin", "upper_key", "volume_clear", "volume_clear_size", "volume_copy_bps_limit", "volume_driver", "volume_group"}
	if got := b.Keys(); !slices.Equal(got, all) {
		t.Errorf("Keys = %q\nwant %q", got, all)
	}
	// Common backend options are never unused; reading an option or Use marks it.
	unused := []string{"bad_bool", "bad_float", "bad_int", "lvm_mirrors", "ratio", "target_ip_address_list",
		"thin", "upper_key", "volume_clear", "volume_clear_size", "volume_copy_bps_limit", "volume_group"}
	if got := b.UnusedKeys(); !slices.Equal(got, unused) {
		t.Errorf("UnusedKeys = %q\nwant %q", got, unused)
	}
	b.String("volume_group", "")
	_, _ = b.Int("volume_clear_size", 0)
	b.Use("THIN", "ratio", "not_in_section")
	want := []string{"bad_bool", "bad_float", "bad_int", "lvm_mirrors", "target_ip_address_list",
		"upper_key", "volume_clear", "volume_copy_bps_limit"}
	if got := b.UnusedKeys(); !slices.Equal(got, want) {
		t.Errorf("UnusedKeys after use = %q\nwant %q", got, want)
	}
}

// TestBackendConcurrentUse: drivers may read their options from several goroutines.
func TestBackendConcurrentUse(t *testing.T) {
	b, _ := lvmBackend(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				b.Use("volume_group")
				_, _ = b.Bool("thin", false)
				_ = b.String("volume_clear", "")
				_ = b.UnusedKeys()
				_ = i
			}
		}()
	}
	wg.Wait()
}

// TestBackendZeroValue: another package's test may build a Backend by hand.
func TestBackendZeroValue(t *testing.T) {
	b := &Backend{Name: "x"}
	b.Use("a")
	if got := b.String("a", "d"); got != "d" || len(b.UnusedKeys()) != 0 || b.Has("a") {
		t.Errorf("zero Backend: String = %q, UnusedKeys = %q", got, b.UnusedKeys())
	}
	if _, err := b.Int("a", 1); err != nil {
		t.Error(err)
	}
}

// TestBackendSection: what a backend hands the driver registry: its keys with their origins
// (copies), its common values, and a Use that marks keys for UnusedKeys.
func TestBackendSection(t *testing.T) {
	b, p := lvmBackend(t)
	s := b.Section("/var/lib/scoria")
	if s.Name != "lvm" || s.File != p || s.StatePath != "/var/lib/scoria" || s.ReservedPercentage != 5 ||
		s.BackendName != "lvm" || s.MaxOverSubscriptionRatio != "20.0" {
		t.Errorf("section %+v", s)
	}
	if s.Values["volume_clear"] != "foo" || s.Values["upper_key"] != "v" || s.Origins["volume_clear"] != p {
		t.Errorf("values %q, origins %q", s.Values, s.Origins)
	}
	s.Values["volume_group"] = "changed"
	if b.String("volume_group", "") != "cinder-volumes" {
		t.Error("Section's values are the backend's own map")
	}
	s.Use("volume_clear", "thin")
	if got := b.UnusedKeys(); slices.Contains(got, "volume_clear") || slices.Contains(got, "thin") || !slices.Contains(got, "bad_int") {
		t.Errorf("UnusedKeys after Use = %q", got)
	}
}
