package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestParseArgs(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"20-b.conf", "10-a.conf", ".hidden.conf", "notes.txt"} {
		writeFile(t, dir, n, "")
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.conf"), 0o700); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "10-a.conf"), filepath.Join(dir, "20-b.conf")

	tests := []struct {
		name      string
		args      []string
		files     []string
		rest      []string
		wantError string
	}{
		{"none", []string{"db", "sync"}, nil, []string{"db", "sync"}, ""},
		{"nothing", nil, nil, nil, ""},
		{"separate value", []string{"--config-file", "/etc/x.conf"}, []string{"/etc/x.conf"}, nil, ""},
		{"equals", []string{"--config-file=/etc/x.conf"}, []string{"/etc/x.conf"}, nil, ""},
		{"repeated, in order", []string{"--config-file", "/1", "--debug", "--config-file=/2", "serve"},
			[]string{"/1", "/2"}, []string{"--debug", "serve"}, ""},
		{"directory", []string{"--config-dir", dir}, []string{a, b}, nil, ""},
		{"directory where it stands", []string{"--config-file", "/1", "--config-dir=" + dir, "--config-file", "/2"},
			[]string{"/1", a, b, "/2"}, nil, ""},
		{"double dash ends", []string{"--config-file", "/1", "--", "--config-file", "/2"},
			[]string{"/1"}, []string{"--", "--config-file", "/2"}, ""},
		{"similar names are not ours", []string{"--config-files", "x", "--config-dirx"},
			nil, []string{"--config-files", "x", "--config-dirx"}, ""},
		{"file without value", []string{"--config-file"}, nil, nil, "--config-file needs a file"},
		{"file followed by an option", []string{"--config-file", "--debug"}, nil, nil, "--config-file needs a file"},
		{"empty file", []string{"--config-file="}, nil, nil, "--config-file needs a file"},
		{"dir without value", []string{"--config-dir"}, nil, nil, "--config-dir needs a directory"},
		{"missing dir", []string{"--config-dir", dir + "/nope"}, nil, nil, "--config-dir " + dir + "/nope: no such directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, rest, err := ParseArgs(tt.args)
			if tt.wantError != "" {
				if err == nil || err.Error() != tt.wantError {
					t.Errorf("error = %v, want %s", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(files, tt.files) || !slices.Equal(rest, tt.rest) {
				t.Errorf("files %q rest %q; want %q and %q", files, rest, tt.files, tt.rest)
			}
		})
	}
}

// TestConfigDirPrecedence: files of a directory are read in name order, the last one wins.
func TestConfigDirPrecedence(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "10-base.conf", "[DEFAULT]\nhost = base\ndebug = true\n")
	writeFile(t, dir, "20-site.conf", "[DEFAULT]\nhost = site\n")
	main := writeFile(t, t.TempDir(), "scoria.conf", "[DEFAULT]\nhost = main\nosapi_max_limit = 10\n")
	files, _, err := ParseArgs([]string{"--config-file", main, "--config-dir", dir})
	if err != nil {
		t.Fatal(err)
	}
	c := mustLoad(t, files)
	if c.Default.Host != "site" || !c.Default.Debug || c.Default.OsapiMaxLimit != 10 {
		t.Errorf("host %q debug %v limit %d; want site, true, 10", c.Default.Host, c.Default.Debug, c.Default.OsapiMaxLimit)
	}
}
