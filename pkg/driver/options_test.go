package driver

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// testOptions declares one option of each type.
var testOptions = []Option{
	{Name: "s", Type: String, Default: "def"},
	{Name: "ne", Type: NonEmpty, Default: "vg"},
	{Name: "i", Type: Int, Default: "5"},
	{Name: "i1", Type: Int, Min: 1, Default: "120"},
	{Name: "any", Type: Int, Min: NoMin, Default: "-1"},
	{Name: "sec", Type: Seconds, Min: 1, Default: "30"},
	{Name: "secany", Type: Seconds, Min: NoMin, Default: "-1"},
	{Name: "b", Type: Bool, Default: "true"},
	{Name: "f", Type: Float, Default: "0"},
	{Name: "c", Type: Choice, Choices: []string{"zero", "none"}, Default: "zero"},
	{Name: "l", Type: List, Default: "a, b"},
	{Name: "mib", Type: MiBPowerOfTwo, Default: "4"},
	{Name: "nodef", Type: Int},
}

func TestOptionDescribe(t *testing.T) {
	want := []string{"string", "string, not empty", "integer, at least 0", "integer, at least 1", "integer",
		"seconds, at least 1", "seconds", "boolean", "number, at least 0", "one of zero, none", "comma-separated list",
		"MiB, a power of 2", "integer, at least 0"}
	for i, o := range testOptions {
		if got := o.Describe(); got != want[i] {
			t.Errorf("%s: Describe() = %q, want %q", o.Name, got, want[i])
		}
	}
}

// section returns a Section of file f, section [b1], setting values.
func section(values map[string]string) *Section {
	origins := map[string]string{}
	for k := range values {
		origins[k] = "/etc/cinder/cinder.conf"
	}
	return &Section{Name: "b1", File: "/etc/cinder/header.conf", Values: values, Origins: origins}
}

func TestOptionsDefaults(t *testing.T) {
	o := newOptions(section(map[string]string{"i": " ", "b": "", "s": ""}), testOptions)
	tests := []struct {
		key  string
		get  func(string) (any, error)
		want any
	}{
		{"s", str(o), ""}, // a string set empty is empty
		{"ne", str(o), "vg"},
		{"c", str(o), "zero"},
		{"i", integer(o), 5}, // a blank number is the default
		{"I1", integer(o), 120},
		{"any", integer(o), -1},
		{"mib", integer(o), 4},
		{"nodef", integer(o), 0},
		{"sec", seconds(o), 30 * time.Second},
		{"secany", seconds(o), -time.Second},
		{"b", boolean(o), true},
		{"f", float(o), 0.0},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := tt.get(tt.key)
			if err != nil || got != tt.want {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if l, err := o.List("l"); err != nil || !slices.Equal(l, []string{"a", "b"}) {
		t.Errorf("List = %q, %v", l, err)
	}
}

func TestOptionsValues(t *testing.T) {
	o := newOptions(section(map[string]string{"s": "x y", "ne": "vg0", "c": " none ", "i": "7", "i1": "1", "any": "-9",
		"sec": "5", "secany": "-3", "b": "Off", "f": "2.5", "l": "x,,y ,", "mib": "8"}), testOptions)
	tests := []struct {
		key  string
		get  func(string) (any, error)
		want any
	}{
		{"s", str(o), "x y"}, {"ne", str(o), "vg0"}, {"c", str(o), "none"}, {"i", integer(o), 7}, {"i1", integer(o), 1},
		{"any", integer(o), -9}, {"mib", integer(o), 8}, {"sec", seconds(o), 5 * time.Second},
		{"secany", seconds(o), -3 * time.Second}, {"b", boolean(o), false}, {"f", float(o), 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := tt.get(tt.key)
			if err != nil || got != tt.want {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if l, err := o.List("l"); err != nil || !slices.Equal(l, []string{"x", "y"}) {
		t.Errorf("List = %q, %v", l, err)
	}
}

// TestOptionsErrors: each type's check, with the exact text of the error a start fails with.
func TestOptionsErrors(t *testing.T) {
	const f = "/etc/cinder/cinder.conf: [b1] "
	tests := []struct {
		key, value string
		get        func(*options) func(string) (any, error)
		want       string
	}{
		{"ne", " ", str, f + "ne: must not be empty"},
		{"c", "shred", str, f + `c: "shred" is not one of zero, none`},
		{"c", "", str, f + `c: "" is not one of zero, none`},
		{"i", "5x", integer, f + `i: "5x" is not an integer`},
		{"i", "-1", integer, f + `i: "-1" must be at least 0`},
		{"i1", "0", integer, f + `i1: "0" must be at least 1`},
		{"mib", "3", integer, f + `mib: "3" must be a power of 2`},
		{"mib", "0", integer, f + `mib: "0" must be at least 1`},
		{"sec", "0", seconds, f + `sec: "0" must be at least 1`},
		{"sec", "99999999999", seconds, f + `sec: "99999999999" is more than 3153600000 seconds`},
		{"b", "maybe", boolean, f + `b: "maybe" is not a boolean: write true or false (or yes/no, on/off, 1/0)`},
		{"f", "fast", float, f + `f: "fast" is not a number`},
		{"f", "-0.5", float, f + `f: "-0.5" must be at least 0`},
		{"f", "NaN", float, f + `f: "NaN" is not a number`},
		{"undeclared", "1", integer, f + "undeclared: is not an option the driver declared"},
		{"s", "x", integer, f + "s: is declared a string option, not read as one"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			o := newOptions(section(map[string]string{tt.key: tt.value}), testOptions)
			_, err := tt.get(o)(tt.key)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error %v\nwant  %s", err, tt.want)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("%T is not a *ConfigError matching ErrInvalidConfig", err)
			}
		})
	}
	// Without an origin, the error names the file of the section's header; without a file, none.
	o := newOptions(&Section{Name: "b1", File: "/etc/h.conf", Values: map[string]string{"i": "x"}}, testOptions)
	if _, err := o.Int("i"); err == nil || err.Error() != `/etc/h.conf: [b1] i: "x" is not an integer` {
		t.Errorf("error %v", err)
	}
	if err := (&ConfigError{Key: "k", Reason: "r"}).Error(); err != "k: r" {
		t.Errorf("ConfigError without a section = %q", err)
	}
}

// TestRegistrationNew: the declared options are checked before the factory runs, in
// declaration order, and marked understood; the common values reach the factory.
func TestRegistrationNew(t *testing.T) {
	var used []string
	s := Section{Name: "b1", Values: map[string]string{"i": "x", "b": "maybe", "extra": "1"},
		Use: func(keys ...string) { used = append(used, keys...) }, ReservedPercentage: 7, StatePath: "/var/lib/scoria"}
	ran := false
	r := Registration{Name: "t", Options: testOptions, Factory: func(o Options) (Driver, error) { ran = true; return nopDriver{o}, nil }}
	if _, err := r.New(s); err == nil || err.Error() != `[b1] i: "x" is not an integer` || ran {
		t.Errorf("New = %v (factory ran: %v), want the first invalid option's error", err, ran)
	}
	for _, d := range testOptions {
		if !slices.Contains(used, d.Name) {
			t.Errorf("declared %s not marked understood", d.Name)
		}
	}
	if slices.Contains(used, "extra") {
		t.Error("an undeclared key was marked understood")
	}
	s.Values = map[string]string{"extra": "1"}
	d, err := r.New(s)
	if err != nil || !ran {
		t.Fatalf("New = %v, %v", d, err)
	}
	o := d.(nopDriver).o
	if o.Section() != "b1" || o.BackendName() != "b1" || o.ReservedPercentage() != 7 || o.MaxOverSubscriptionRatio() != "20.0" ||
		o.StatePath() != "/var/lib/scoria" {
		t.Errorf("common values: %s %s %d %s %s", o.Section(), o.BackendName(), o.ReservedPercentage(), o.MaxOverSubscriptionRatio(), o.StatePath())
	}
	o.Use("Target_Helper")
	if !slices.Contains(used, "target_helper") {
		t.Errorf("Use did not reach the section: %q", used)
	}
	if err := o.Invalid("S", "is wrong"); err == nil || err.Error() != "[b1] s: is wrong" {
		t.Errorf("Invalid = %v", err)
	}
	if _, err := (Registration{Name: "u", Unavailable: "not built in"}).New(Section{Name: "b1", File: "/f"}); err == nil ||
		err.Error() != "/f: [b1] volume_driver: not built in" {
		t.Errorf("unavailable: %v", err)
	}
	if _, err := (Registration{Name: "n", Factory: func(Options) (Driver, error) { return nil, nil }}).New(s); err == nil {
		t.Error("a factory returning nil, nil: no error")
	}
}

func str(o *options) func(string) (any, error) {
	return func(k string) (any, error) { return o.String(k) }
}

func integer(o *options) func(string) (any, error) {
	return func(k string) (any, error) { return o.Int(k) }
}

func seconds(o *options) func(string) (any, error) {
	return func(k string) (any, error) { return o.Seconds(k) }
}

func boolean(o *options) func(string) (any, error) {
	return func(k string) (any, error) { return o.Bool(k) }
}

func float(o *options) func(string) (any, error) {
	return func(k string) (any, error) { return o.Float(k) }
}
