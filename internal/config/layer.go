package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/spf13/viper"
	"gopkg.in/ini.v1"
)

const (
	defaultSection  = "DEFAULT"
	databaseSection = "database"
	keystoneSection = "keystone_authtoken"
	policySection   = "oslo_policy"

	// sep is viper's key delimiter between a section and a key: a newline, since INI is
	// read line by line and so neither a section name nor a key can hold one.
	sep = "\n"

	envPrefix = "SCORIA_"
)

// sectionID is the key of a section in viper and in the store. oslo.config folds section
// names to lower case except DEFAULT, which it takes only as written; viper folds every key,
// so the other sections are bracketed to keep a section called [default] apart.
func sectionID(name string) string {
	if name == defaultSection {
		return "default"
	}
	return "[" + strings.ToLower(name) + "]"
}

// displayName is how messages name a section that no file spelled.
func displayName(name string) string {
	if name == defaultSection {
		return name
	}
	return strings.ToLower(name)
}

// envName is the environment variable that overrides key of section.
func envName(section, key string) string {
	return envPrefix + envSection(section) + "__" + strings.ToUpper(key)
}

// envSection is a section name as the environment spells it: upper case, and any character
// other than a letter or a digit as '_'.
func envSection(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, name)
}

// store is the layered result: every key written in a file or the environment, with the
// value that won and where it came from.
type store struct {
	sections map[string]*section // by sectionID
	order    []string            // section ids, in the order first seen
}

type section struct {
	name string // as last written in a section header (or as the environment named it)
	file string // the last file with a header for this section, or the variable that made it
	keys map[string]setting
}

type setting struct {
	value  string
	origin string // the file, or "$SCORIA_…"
}

func (st *store) get(id, key string) (setting, bool) {
	s, ok := st.sections[id]
	if !ok {
		return setting{}, false
	}
	v, ok := s.keys[key]
	return v, ok
}

// origin is where key of section id was set, or "" when it was not.
func (st *store) origin(id, key string) string {
	kv, _ := st.get(id, key)
	return kv.origin
}

// name is how messages name section id: as last written, else from the id.
func (st *store) name(id string) string {
	if s, ok := st.sections[id]; ok {
		return s.name
	}
	if id == sectionID(defaultSection) {
		return defaultSection
	}
	return strings.TrimSuffix(strings.TrimPrefix(id, "["), "]")
}

func (st *store) section(id, name, file string) *section {
	s, ok := st.sections[id]
	if !ok {
		s = &section{keys: map[string]setting{}}
		st.sections[id] = s
		st.order = append(st.order, id)
	}
	s.name, s.file = name, file
	return s
}

func (s *section) sortedKeys() []string {
	keys := make([]string, 0, len(s.keys))
	for k := range s.keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// iniFile is one parsed file: its sections in order, each with its keys.
type iniFile struct {
	sections []iniSection
}

type iniSection struct {
	name string
	keys [][2]string // name and value, in file order
}

// iniOptions make gopkg.in/ini.v1 read as oslo_config/iniparser.py does: no inline comments,
// no backslash continuation, indented lines continue a value, section and key names as written.
var iniOptions = ini.LoadOptions{
	IgnoreInlineComment:        true,
	IgnoreContinuation:         true,
	AllowPythonMultilineValues: true,
}

// readINI parses the file at path. Its errors are *Error naming the file.
func readINI(path string) (*iniFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, &Error{File: path, Reason: "no such file"}
		case errors.As(err, &pe):
			return nil, &Error{File: path, Reason: pe.Err.Error()}
		}
		return nil, &Error{File: path, Reason: err.Error()}
	}
	f, err := ini.LoadSources(iniOptions, data)
	if err != nil {
		return nil, &Error{File: path, Reason: parseReason(data, err)}
	}
	out := &iniFile{}
	for _, s := range f.Sections() {
		var keys [][2]string
		for _, k := range s.Keys() {
			keys = append(keys, [2]string{k.Name(), cleanValue(k.Value())})
		}
		if s.Name() == ini.DefaultSection && len(keys) == 0 {
			continue // ini.v1 always has one; an empty [DEFAULT] says nothing
		}
		out.sections = append(out.sections, iniSection{name: s.Name(), keys: keys})
	}
	return out, nil
}

// cleanValue trims each continuation line of a multi-line value, as oslo does, and drops
// trailing blank ones.
func cleanValue(v string) string {
	if !strings.Contains(v, "\n") {
		return v
	}
	lines := strings.Split(v, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	for len(lines) > 1 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// parseReason turns an ini.v1 error into a sentence with the line number.
func parseReason(data []byte, err error) string {
	var line, what string
	var dnf ini.ErrDelimiterNotFound
	var ekn ini.ErrEmptyKeyName
	switch {
	case errors.As(err, &dnf):
		line, what = dnf.Line, `is not "key = value", a [section] or a comment`
	case errors.As(err, &ekn):
		line, what = ekn.Line, "has no option name before the ="
	default:
		msg := err.Error()
		rest, ok := strings.CutPrefix(msg, "unclosed section: ")
		if !ok {
			return msg
		}
		line, what = rest, "has no closing ]"
	}
	line = strings.TrimSpace(line)
	for n, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) == line {
			return fmt.Sprintf("line %d: %q %s", n+1, line, what)
		}
	}
	return fmt.Sprintf("%q %s", line, what)
}

// layer reads files in order into one viper instance, puts the overrides of environ above
// them, and returns what won, with origins.
func layer(files, environ []string) (*store, error) {
	v := viper.NewWithOptions(viper.KeyDelimiter(sep))
	st := &store{sections: map[string]*section{}}
	origin := map[string]string{} // viper key → file or variable; follows the same order as v
	var errs []error
	for _, path := range files {
		f, err := readINI(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m := map[string]any{}
		for _, s := range f.sections {
			id := sectionID(s.name)
			st.section(id, s.name, path)
			keys := map[string]any{}
			for _, kv := range s.keys { // in file order, so that Host and host fold the same way every time
				k := strings.ToLower(kv[0])
				keys[k] = kv[1]
				origin[id+sep+k] = path
			}
			if prev, ok := m[id].(map[string]any); ok { // [lvm] and [LVM] in one file
				for k, val := range keys {
					prev[k] = val
				}
				continue
			}
			m[id] = keys
		}
		if err := v.MergeConfigMap(m); err != nil {
			errs = append(errs, &Error{File: path, Reason: err.Error()})
		}
	}
	if len(errs) > 0 {
		if len(errs) == 1 {
			return nil, errs[0]
		}
		return nil, errors.Join(errs...)
	}
	if err := overrideFromEnv(v, st, origin, environ); err != nil {
		return nil, err
	}
	for _, k := range v.AllKeys() {
		id, key, ok := strings.Cut(k, sep)
		if !ok {
			continue
		}
		s := st.sections[id]
		s.keys[key] = setting{value: v.GetString(k), origin: origin[k]}
	}
	return st, nil
}

// overrideFromEnv sets the SCORIA_<SECTION>__<KEY> variables of environ in v's override
// layer. [DEFAULT] goes first, so that an enabled_backends from the environment can name a
// section that only the environment fills.
func overrideFromEnv(v *viper.Viper, st *store, origin map[string]string, environ []string) error {
	type override struct{ variable, section, key, value string }
	var defaults, others []override
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(name, envPrefix)
		if !ok {
			continue
		}
		sec, key, ok := strings.Cut(rest, "__")
		if !ok || sec == "" {
			continue // SCORIA_TEST_MYSQL_URL and the like are not configuration
		}
		if key == "" {
			return &Error{File: "$" + name, Reason: "names no option: write " + envPrefix + "<SECTION>__<OPTION>"}
		}
		o := override{variable: "$" + name, section: sec, key: strings.ToLower(key), value: value}
		if strings.EqualFold(sec, defaultSection) {
			defaults = append(defaults, o)
		} else {
			others = append(others, o)
		}
	}
	set := func(id, name string, o override) {
		if _, ok := st.sections[id]; !ok {
			st.section(id, name, o.variable)
		}
		v.Set(id+sep+o.key, o.value)
		origin[id+sep+o.key] = o.variable
	}
	for _, o := range defaults {
		set(sectionID(defaultSection), defaultSection, o)
	}
	// The sections the environment may name: those of the files, the ones Scoria declares,
	// and the enabled backends.
	candidates := map[string]string{} // section id → name
	for id, s := range st.sections {
		if id != sectionID(defaultSection) {
			candidates[id] = s.name
		}
	}
	candidates[sectionID(databaseSection)] = databaseSection
	candidates[sectionID(keystoneSection)] = keystoneSection
	candidates[sectionID(policySection)] = policySection
	candidates[sectionID(keyManagerSection)] = keyManagerSection
	candidates[sectionID(barbicanSection)] = barbicanSection
	candidates[sectionID(glanceSection)] = glanceSection
	candidates[sectionID(serviceUserSection)] = serviceUserSection
	for _, name := range splitList(v.GetString(sectionID(defaultSection) + sep + "enabled_backends")) {
		if _, ok := candidates[sectionID(name)]; !ok {
			candidates[sectionID(name)] = name
		}
	}
	for _, o := range others {
		var matches []string
		for id, name := range candidates {
			if envSection(name) == strings.ToUpper(o.section) {
				matches = append(matches, id)
			}
		}
		sort.Strings(matches)
		switch len(matches) {
		case 0:
			name := strings.ToLower(o.section)
			set(sectionID(name), name, o)
		case 1:
			set(matches[0], candidates[matches[0]], o)
		default:
			names := make([]string, len(matches))
			for i, id := range matches {
				names[i] = "[" + candidates[id] + "]"
			}
			return &Error{File: o.variable, Reason: "matches sections " + strings.Join(names, " and ") + ": rename one of them"}
		}
	}
	return nil
}
