package config

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/scoria/scoria/pkg/driver"
)

// localFileDriver is the local-file driver's name: the sample's [local] section uses it.
const localFileDriver = "localfile"

// sampleHeader opens etc/scoria.conf.sample.
const sampleHeader = `# Scoria configuration: every option Scoria implements, with its default.
#
# Generated from internal/config/options.go: do not edit by hand, run
#     go test ./internal/config -update
#
# Scoria reads an existing cinder.conf: the same sections and options, in the INI dialect
# of oslo.config. Give files with --config-file (repeatable) and --config-dir (its *.conf
# files, sorted); a later file wins, option by option. SCORIA_<SECTION>__<OPTION>=value in
# the environment wins over every file, e.g. SCORIA_DEFAULT__DEBUG=true or
# SCORIA_LVMDRIVER_1__VOLUME_GROUP=vg0.
#
# A value may refer to another option as $name or ${name}, from its own section or
# [DEFAULT], or ${section.name}: local_volume_dir = $state_path/volumes. Write $$ for a
# literal $. Options Scoria does not implement are accepted and logged once as ignored.
`

// sampleBackends introduces the backend sections.
const sampleBackends = `
#
# Backends. Each name in enabled_backends is a section of its own: every backend section
# takes the options shown under [local] from volume_backend_name on, and its driver reads
# the others (the local_ ones here). [local] is ignored until enabled_backends names it.
#

[local]

# A backend that keeps each volume as a file in a directory: to try Scoria, and for tests.
volume_driver = localfile
local_volume_dir = /var/lib/scoria/volumes
`

// sampleSection is how the sample shows a registered driver other than the local-file one:
// a commented example section.
type sampleSection struct {
	comment string // the line above the section
	section string // the example section's name
	value   string // its volume_driver value
	tail    string // commented lines after the driver's options
}

// sampleSections are the example sections of Scoria's own drivers; another registered driver
// gets "# The <name> driver." and a section named after it.
var sampleSections = map[string]sampleSection{
	"lvm": {"Cinder's LVM driver, named by its class path as in cinder.conf.", "lvmdriver-1",
		"cinder.volume.drivers.lvm.LVMVolumeDriver", "\n#target_helper = tgtadm\n#target_protocol = iscsi\n"},
	"rbd": {"Cinder's RBD driver (in binaries built with -tags ceph,pacific; see docs/rbd.md).", "ceph",
		"cinder.volume.drivers.rbd.RBDDriver", ""},
}

// sampleDrivers closes the sample with an example section for each registered driver but
// the local-file one (whose [local] section is not an example), with the driver's options.
func sampleDrivers(b *bytes.Buffer) {
	for _, r := range driver.Registered() {
		if r.Name == localFileDriver {
			continue
		}
		s, ok := sampleSections[r.Name]
		if !ok {
			s = sampleSection{comment: "The " + r.Name + " driver.", section: r.Name, value: r.Name}
		}
		fmt.Fprintf(b, "\n# %s\n#[%s]\n#volume_driver = %s\n", s.comment, s.section, s.value)
		sampleOptions(b, r.Options)
		b.WriteString(s.tail)
	}
}

// sampleOptions writes a driver's options, commented out, with their defaults.
func sampleOptions(b *bytes.Buffer, opts []driver.Option) {
	for _, o := range opts {
		sampleOption(b, o.Name, o.Describe(), o.Default, o.Help)
	}
}

// sampleOption writes one option, commented out, with its help and default.
func sampleOption(b *bytes.Buffer, name, kind, def, help string) {
	b.WriteString("\n")
	for _, line := range wrap(help, "("+kind+")", 88) {
		b.WriteString("# " + line + "\n")
	}
	if def == "" {
		def = "<None>"
	}
	fmt.Fprintf(b, "#%s = %s\n", name, def)
}

// Sample returns the commented sample configuration, etc/scoria.conf.sample, made from the
// option tables and the options of the drivers registered with pkg/driver (those linked into
// the binary: the sample's test imports Scoria's three).
func Sample() []byte {
	var b bytes.Buffer
	b.WriteString(sampleHeader)
	section := ""
	for _, o := range Options() {
		if o.Section != section {
			section = o.Section
			switch section {
			case BackendSection:
				b.WriteString(sampleBackends)
				if r, ok := driver.Lookup(localFileDriver); ok {
					for _, o := range r.Options {
						if o.Name != "local_volume_dir" { // set above
							sampleOption(&b, o.Name, o.Describe(), o.Default, o.Help)
						}
					}
				}
			default:
				fmt.Fprintf(&b, "\n[%s]\n", section)
			}
		}
		if section == BackendSection && o.Name == "volume_driver" {
			continue // written in [local]
		}
		sampleOption(&b, o.Name, o.Type, o.Default, o.Help)
	}
	sampleDrivers(&b)
	return b.Bytes()
}

// wrap breaks text and then tail, kept whole, into lines of at most width characters
// including the "# " in front of each.
func wrap(text, tail string, width int) []string {
	var lines []string
	line := ""
	for _, w := range append(strings.Fields(text), tail) {
		if line != "" && len(line)+1+len(w) > width-2 {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}
