package volumeio

import (
	"bytes"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// need returns the path of a command the test needs; without it the test skips, or fails
// under CI=true.
func need(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (Debian: qemu-utils, qemu-block-extra, tgt)", name)
		}
		t.Skipf("%s is missing", name)
	}
	return p
}

// pattern is n reproducible bytes, different for each seed.
func pattern(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// readAll reads the whole device.
func readAll(t *testing.T, d Device) []byte {
	t.Helper()
	b, err := io.ReadAll(io.NewSectionReader(d, 0, d.Size()))
	if err != nil {
		t.Fatalf("read the device: %v", err)
	}
	return b
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// scratchLeft lists the scratch files in dir.
func scratchLeft(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, scratchPattern))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// newTestAttacher is an Attacher with its own scratch directory and a log the test reads.
func newTestAttacher(t *testing.T, m ShareMounter) (*Attacher, string, *test.Hook) {
	t.Helper()
	l, hook := test.NewNullLogger()
	l.SetLevel(logrus.DebugLevel)
	scratch := t.TempDir()
	return New(Options{ScratchDir: scratch, Mounter: m, Log: l}), scratch, hook
}

// logged is everything the hook saw, messages and fields.
func logged(h *test.Hook) string {
	var b strings.Builder
	for _, e := range h.AllEntries() {
		s, _ := e.String()
		b.WriteString(s)
	}
	return b.String()
}

func mustEqual(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: %d bytes differ from the %d expected, first at %d", what, len(got), len(want), i)
	}
}
