package config

import (
	"bytes"
	"fmt"
	"strings"
)

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
# takes the options shown under [local], its driver reads the others. [local] is ignored
# until enabled_backends names it.
#

[local]

# A backend that keeps each volume as a file in a directory: to try Scoria, and for tests.
volume_driver = localfile
local_volume_dir = /var/lib/scoria/volumes
`

// sampleLVM closes the sample with a Cinder LVM section and an RBD section, each with its
// driver's options.
func sampleLVM(b *bytes.Buffer) {
	b.WriteString("\n# Cinder's LVM driver, named by its class path as in cinder.conf.\n")
	b.WriteString("#[lvmdriver-1]\n#volume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver\n")
	sampleDriverOptions(b, "lvm")
	b.WriteString("\n#target_helper = tgtadm\n#target_protocol = iscsi\n")
	b.WriteString("\n# Cinder's RBD driver (in binaries built with -tags ceph,pacific; see docs/rbd.md).\n")
	b.WriteString("#[ceph]\n#volume_driver = cinder.volume.drivers.rbd.RBDDriver\n")
	sampleDriverOptions(b, "rbd")
}

// sampleDriverOptions writes the options of one driver, commented out, with their defaults.
func sampleDriverOptions(b *bytes.Buffer, driver string) {
	for _, o := range DriverOptions(driver) {
		b.WriteString("\n")
		for _, line := range wrap(o.Help, "("+o.Type+")", 88) {
			b.WriteString("# " + line + "\n")
		}
		def := o.Default
		if def == "" {
			def = "<None>"
		}
		fmt.Fprintf(b, "#%s = %s\n", o.Name, def)
	}
}

// Sample returns the commented sample configuration, etc/scoria.conf.sample, made from the
// option tables.
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
			default:
				fmt.Fprintf(&b, "\n[%s]\n", section)
			}
		}
		if section == BackendSection && o.Name == "volume_driver" {
			continue // written in [local]
		}
		b.WriteString("\n")
		for _, line := range wrap(o.Help, "("+o.Type+")", 88) {
			b.WriteString("# " + line + "\n")
		}
		def := o.Default
		if def == "" {
			def = "<None>"
		}
		fmt.Fprintf(&b, "#%s = %s\n", o.Name, def)
	}
	sampleLVM(&b)
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
