package cluster

import (
	"fmt"
	"sort"
	"strings"
)

// writeSections appends the named sections, sorted by name and key, to a configuration file.
func writeSections(b *strings.Builder, sections map[string]map[string]string) {
	names := make([]string, 0, len(sections))
	for n := range sections {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(b, "\n[%s]\n", n)
		keys := make([]string, 0, len(sections[n]))
		for k := range sections[n] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(b, "%s = %s\n", k, sections[n][k])
		}
	}
}
