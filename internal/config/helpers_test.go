package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile creates name in dir with content and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// conf writes content to a fresh scoria.conf and returns its path.
func conf(t *testing.T, content string) string {
	t.Helper()
	return writeFile(t, t.TempDir(), "scoria.conf", content)
}

// mustLoad loads files with environ and fails the test on an error.
func mustLoad(t *testing.T, files []string, environ ...string) *Config {
	t.Helper()
	c, err := Load(files, environ)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

// backend returns the backend called name, failing the test when there is none.
func backend(t *testing.T, c *Config, name string) *Backend {
	t.Helper()
	for _, b := range c.Backends {
		if b.Name == name {
			return b
		}
	}
	t.Fatalf("no backend %q in %v", name, c.Default.EnabledBackends)
	return nil
}

// configErrors returns the *Error values inside err, joined or not.
func configErrors(t *testing.T, err error) []*Error {
	t.Helper()
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var ce *Error
		if !errors.As(err, &ce) {
			t.Fatalf("error %v (%T) is not a *config.Error", err, err)
		}
		out = append(out, ce)
	}
	walk(err)
	return out
}

// withBackend is a configuration with one enabled backend section [b] holding body.
func withBackend(body string) string {
	return "[DEFAULT]\nenabled_backends = b\n\n[b]\nvolume_driver = localfile\n" + body + "\n"
}

func hostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

// fill puts path in place of {file} in a message.
func fill(s, path string) string { return strings.ReplaceAll(s, "{file}", path) }
