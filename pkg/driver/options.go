package driver

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// OptionType is what the value of a driver's option must be: one of the types below, which
// the Options accessor checks, so that a factory writes no checks of its own.
type OptionType string

// The option types. Min bounds Int, Seconds and Float options (zero: not negative).
const (
	String        OptionType = "string"            // any text, "" included
	NonEmpty      OptionType = "string, not empty" // text that is not blank
	Int           OptionType = "integer"           // an integer of at least Min
	Seconds       OptionType = "seconds"           // a whole number of seconds of at least Min
	Bool          OptionType = "boolean"           // oslo's: true/false, yes/no, on/off, 1/0
	Float         OptionType = "number"            // a number of at least Min
	Choice        OptionType = "choice"            // one of Choices, exactly
	List          OptionType = "list"              // comma-separated, blanks trimmed, empty items dropped
	MiBPowerOfTwo OptionType = "MiB, a power of 2" // a size in MiB that is a power of 2 (1 at least)
)

// NoMin as an Option's Min lets an Int, Seconds or Float option be any number.
const NoMin = math.MinInt

// maxSeconds bounds Seconds options: a century, far below time.Duration's limit.
const maxSeconds = 100 * 365 * 24 * 3600

// Option declares one option a driver reads from its backend section, with Cinder's name and
// default. The declaration is the option's whole definition: the accessor checks values and
// supplies the default from it, the sample configuration documents it, and a section's keys
// that no declaration (nor the backend's common options) names are logged as ignored.
type Option struct {
	Name    string     // the key, lower case, e.g. "volume_group"
	Type    OptionType // what a value must be
	Default string     // as written in a file; "" is none
	Help    string     // one sentence for the sample configuration
	Min     int        // Int, Seconds, Float: the smallest value (zero: 0; NoMin: none)
	Choices []string   // Choice: the values allowed
}

// Describe returns what a value must be, as the sample configuration shows it, e.g.
// "integer, at least 0" or "one of zero, none".
func (o Option) Describe() string {
	switch o.Type {
	case Int, Seconds, Float:
		if o.Min == NoMin {
			return string(o.Type)
		}
		return fmt.Sprintf("%s, at least %d", o.Type, o.Min)
	case Choice:
		return "one of " + strings.Join(o.Choices, ", ")
	case List:
		return "comma-separated list"
	}
	return string(o.Type)
}

// Check returns why value is not a valid value of o, nil when it is. A blank value of an
// Int, Seconds, Bool, Float or MiBPowerOfTwo option stands for the default and is valid.
func (o Option) Check(value string) error {
	_, err := o.parse(value)
	return err
}

// parse returns value as o's Go type: string, int, time.Duration, bool, float64 or []string.
// A blank number or boolean is the default.
func (o Option) parse(value string) (any, error) {
	s := strings.TrimSpace(value)
	switch o.Type {
	case Int, Seconds, Bool, Float, MiBPowerOfTwo:
		if s == "" {
			if o.Default == "" {
				return o.zero(), nil
			}
			value, s = o.Default, strings.TrimSpace(o.Default)
		}
	}
	switch o.Type {
	case String:
		return value, nil
	case NonEmpty:
		if s == "" {
			return nil, fmt.Errorf("must not be empty")
		}
		return value, nil
	case Choice:
		for _, c := range o.Choices {
			if s == c {
				return c, nil
			}
		}
		return nil, fmt.Errorf("%q is not one of %s", value, strings.Join(o.Choices, ", "))
	case List:
		var out []string
		for _, item := range strings.Split(value, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
		return out, nil
	case Bool:
		switch strings.ToLower(s) {
		case "true", "yes", "on", "1":
			return true, nil
		case "false", "no", "off", "0":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not a boolean: write true or false (or yes/no, on/off, 1/0)", value)
	case Float:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%q is not a number", value)
		}
		if o.Min != NoMin && f < float64(o.Min) {
			return nil, fmt.Errorf("%q must be at least %d", value, o.Min)
		}
		return f, nil
	case Int, Seconds, MiBPowerOfTwo:
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", value)
		}
		min := o.Min
		if o.Type == MiBPowerOfTwo {
			min = 1
		}
		if min != NoMin && n < min {
			return nil, fmt.Errorf("%q must be at least %d", value, min)
		}
		switch o.Type {
		case Seconds:
			if n > maxSeconds {
				return nil, fmt.Errorf("%q is more than %d seconds", value, maxSeconds)
			}
			return time.Duration(n) * time.Second, nil
		case MiBPowerOfTwo:
			if n&(n-1) != 0 {
				return nil, fmt.Errorf("%q must be a power of 2", value)
			}
		}
		return n, nil
	}
	return nil, fmt.Errorf("option %s has no type Scoria knows (%q)", o.Name, o.Type)
}

// zero is the value of a number or boolean option without a value or a default.
func (o Option) zero() any {
	switch o.Type {
	case Seconds:
		return time.Duration(0)
	case Bool:
		return false
	case Float:
		return 0.0
	}
	return 0
}

// validate checks a declaration when it is registered: a known type, choices for a Choice, a
// default that is a valid value.
func (o Option) validate() error {
	if o.Name == "" || o.Name != strings.ToLower(o.Name) || strings.ContainsAny(o.Name, " \t=") {
		return fmt.Errorf("option name %q must be a lower-case key", o.Name)
	}
	if o.Type == Choice && len(o.Choices) == 0 {
		return fmt.Errorf("option %s is a choice without choices", o.Name)
	}
	if o.Default == "" && (o.Type == NonEmpty || o.Type == Choice) {
		return nil // required in effect: the section must set it
	}
	if err := o.Check(o.Default); err != nil {
		return fmt.Errorf("option %s: default: %w", o.Name, err)
	}
	return nil
}

// Options is what a Factory reads its backend section through. The typed getters return a
// declared option's value, or its declared default when the section does not set it; a value
// that is not of the declared type, or a key the driver did not declare, is an error that names
// the file, the section and the key (a *ConfigError). Reading an option marks it understood,
// so that it is not logged as ignored.
type Options interface {
	// Section is the backend's section name, e.g. "lvmdriver-1" (the part after '@' in a host).
	Section() string
	// BackendName is volume_backend_name (default: the section name).
	BackendName() string
	// ReservedPercentage is reserved_percentage, 0 to 100.
	ReservedPercentage() int
	// MaxOverSubscriptionRatio is max_over_subscription_ratio as written: a number or "auto".
	MaxOverSubscriptionRatio() string
	// StatePath is [DEFAULT] state_path, the directory of the service's state.
	StatePath() string

	String(key string) (string, error)         // String, NonEmpty and Choice options
	Int(key string) (int, error)               // Int and MiBPowerOfTwo options
	Seconds(key string) (time.Duration, error) // Seconds options
	Bool(key string) (bool, error)             // Bool options
	Float(key string) (float64, error)         // Float options
	List(key string) ([]string, error)         // List options
	Use(keys ...string)                        // marks keys read by another layer as understood
	Invalid(key, reason string) error          // a *ConfigError for a check of the driver's own
}

// ConfigError is an invalid option of a backend section. It reads like Scoria's other
// configuration errors, `/etc/cinder/cinder.conf: [lvm] volume_clear: "foo" is not one of
// zero, none`, and matches ErrInvalidConfig.
type ConfigError struct {
	File    string // the file that set the key; "" when unknown
	Section string
	Key     string
	Reason  string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	if e.Section != "" {
		b.WriteString("[" + e.Section + "]")
		if e.Key != "" {
			b.WriteString(" " + e.Key)
		}
		b.WriteString(": ")
	} else if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap makes a ConfigError match ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// Section is a backend section as a host hands it to New: the keys it sets and the backend's
// common values. Scoria makes one from each section named in enabled_backends; another host,
// or a test, may fill one by hand.
type Section struct {
	Name    string            // the section's name, e.g. "lvmdriver-1"
	File    string            // the file with the section's header, for errors about the section
	Values  map[string]string // the keys the section sets, lower case, values expanded
	Origins map[string]string // the file (or environment variable) each key came from; missing: File

	BackendName              string // volume_backend_name; "": Name
	ReservedPercentage       int    // reserved_percentage
	MaxOverSubscriptionRatio string // max_over_subscription_ratio; "": "20.0"
	StatePath                string // [DEFAULT] state_path

	// Use, when not nil, is told every key the driver understands: its declared options and
	// those it passes to Options.Use.
	Use func(keys ...string)
}

// invalid returns a *ConfigError about key of s.
func (s *Section) invalid(key, reason string) error {
	file := s.Origins[key]
	if file == "" {
		file = s.File
	}
	return &ConfigError{File: file, Section: s.Name, Key: key, Reason: reason}
}

// options is the Options of one section for one registered driver.
type options struct {
	s    *Section
	decl map[string]Option
}

var _ Options = (*options)(nil)

func newOptions(s *Section, decl []Option) *options {
	o := &options{s: s, decl: make(map[string]Option, len(decl))}
	for _, d := range decl {
		o.decl[d.Name] = d
	}
	return o
}

// check validates every declared option the section sets, in declaration order, and marks
// them all understood.
func (o *options) check(decl []Option) error {
	names := make([]string, 0, len(decl))
	for _, d := range decl {
		names = append(names, d.Name)
	}
	o.Use(names...)
	for _, d := range decl {
		if v, ok := o.s.Values[d.Name]; ok {
			if err := d.Check(v); err != nil {
				return o.s.invalid(d.Name, err.Error())
			}
		}
	}
	return nil
}

func (o *options) Section() string { return o.s.Name }

func (o *options) BackendName() string {
	if o.s.BackendName == "" {
		return o.s.Name
	}
	return o.s.BackendName
}

func (o *options) ReservedPercentage() int { return o.s.ReservedPercentage }

func (o *options) MaxOverSubscriptionRatio() string {
	if o.s.MaxOverSubscriptionRatio == "" {
		return "20.0"
	}
	return o.s.MaxOverSubscriptionRatio
}

func (o *options) StatePath() string { return o.s.StatePath }

func (o *options) Use(keys ...string) {
	if o.s.Use == nil {
		return
	}
	lower := make([]string, len(keys))
	for i, k := range keys {
		lower[i] = strings.ToLower(k)
	}
	o.s.Use(lower...)
}

func (o *options) Invalid(key, reason string) error {
	return o.s.invalid(strings.ToLower(key), reason)
}

// get returns key's value as the Go type of its declaration, which must be one of types.
func (o *options) get(key string, types ...OptionType) (any, error) {
	key = strings.ToLower(key)
	d, ok := o.decl[key]
	if !ok {
		return nil, o.s.invalid(key, "is not an option the driver declared")
	}
	typeOK := false
	for _, t := range types {
		typeOK = typeOK || d.Type == t
	}
	if !typeOK {
		return nil, o.s.invalid(key, fmt.Sprintf("is declared a %s option, not read as one", d.Type))
	}
	o.Use(key)
	v, set := o.s.Values[key]
	if !set {
		v = d.Default
	}
	out, err := d.parse(v)
	if err != nil {
		return nil, o.s.invalid(key, err.Error())
	}
	return out, nil
}

func (o *options) String(key string) (string, error) {
	v, err := o.get(key, String, NonEmpty, Choice)
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

func (o *options) Int(key string) (int, error) {
	v, err := o.get(key, Int, MiBPowerOfTwo)
	if err != nil {
		return 0, err
	}
	return v.(int), nil
}

func (o *options) Seconds(key string) (time.Duration, error) {
	v, err := o.get(key, Seconds)
	if err != nil {
		return 0, err
	}
	return v.(time.Duration), nil
}

func (o *options) Bool(key string) (bool, error) {
	v, err := o.get(key, Bool)
	if err != nil {
		return false, err
	}
	return v.(bool), nil
}

func (o *options) Float(key string) (float64, error) {
	v, err := o.get(key, Float)
	if err != nil {
		return 0, err
	}
	return v.(float64), nil
}

func (o *options) List(key string) ([]string, error) {
	v, err := o.get(key, List)
	if err != nil {
		return nil, err
	}
	return v.([]string), nil
}
