package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ParseArgs takes oslo.config's options out of a command line, so that every binary reads
// them alike: --config-file PATH and --config-dir DIR, both repeatable, written as
// "--opt value" or "--opt=value". files are in command line order, each directory standing
// for its *.conf files sorted by name, as oslo parses each option where it stands: a later
// file wins. rest holds the other arguments in order; "--" ends the options and is kept in
// rest with everything after it. With neither option, files is empty and the caller decides.
func ParseArgs(args []string) (files, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, value, inline := strings.Cut(a, "=")
		if name != "--config-file" && name != "--config-dir" {
			rest = append(rest, a)
			continue
		}
		if !inline {
			if i+1 >= len(args) || (strings.HasPrefix(args[i+1], "-") && len(args[i+1]) > 1) {
				return nil, nil, fmt.Errorf("%s needs a %s", name, what(name))
			}
			i++
			value = args[i]
		}
		if value == "" {
			return nil, nil, fmt.Errorf("%s needs a %s", name, what(name))
		}
		if name == "--config-file" {
			files = append(files, value)
			continue
		}
		confs, err := confFiles(value)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, confs...)
	}
	return files, rest, nil
}

func what(option string) string {
	if option == "--config-dir" {
		return "directory"
	}
	return "file"
}

// confFiles lists the *.conf files of dir sorted by name, skipping hidden files and
// directories as Python's glob does.
func confFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("--config-dir %s: no such directory", dir)
		}
		return nil, fmt.Errorf("--config-dir %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries { // os.ReadDir sorts by name
		n := e.Name()
		if !strings.HasSuffix(n, ".conf") || strings.HasPrefix(n, ".") {
			continue
		}
		p := filepath.Join(dir, n)
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}
