package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/pkg/driver"
)

// TestVolumeReconcile runs the real scoria-manage binary on a local-file backend and a
// SQLite database: an orphan is reported and kept, kept within the grace period, deleted
// past it; a missing file is reported; a create in flight and everything owned are left.
func TestVolumeReconcile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "scoria-manage")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	vols := filepath.Join(dir, "vols")
	conf := filepath.Join(dir, "scoria.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`[DEFAULT]
host = node1
enabled_backends = local1
state_path = %s
[database]
connection = sqlite:///%s/scoria.db
[local1]
volume_driver = localfile
local_volume_dir = %s
`, dir, dir, vols)), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--config-file", conf}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
	}
	if code, _, stderr := run("db", "sync"); code != 0 {
		t.Fatalf("db sync: %d %s", code, stderr)
	}
	ctx := context.Background()
	store, err := db.Open(ctx, "sqlite:///"+dir+"/scoria.db")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	file := func(name string) string {
		t.Helper()
		if err := os.MkdirAll(vols, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(vols, name), []byte("x"), 0o640); err != nil {
			t.Fatal(err)
		}
		return name
	}
	row := func(status string) string {
		t.Helper()
		v := &resource.Volume{ID: uuid.NewString(), ProjectID: "p", UserID: "u", Size: 1, Status: status,
			AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", Host: "node1@local1#local1", Metadata: map[string]string{}}
		if _, err := store.CreateVolume(ctx, v); err != nil {
			t.Fatal(err)
		}
		return v.ID
	}
	owned := file(driver.StorageName(row(resource.StatusAvailable)))
	inFlight := file(driver.StorageName(row(resource.StatusCreating)) + ".partial")
	missing := row(resource.StatusAvailable)
	orphanID := uuid.NewString()
	orphan := file(driver.StorageName(orphanID))
	exists := func(name string) bool { _, err := os.Stat(filepath.Join(vols, name)); return err == nil }

	lines := func(stdout string, words ...string) int {
		n := 0
		for _, l := range strings.Split(stdout, "\n") {
			all := true
			for _, w := range words {
				all = all && strings.Contains(l, w)
			}
			if all {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		name    string
		args    []string
		outcome string
		gone    bool
	}{
		{"report only", nil, "reported", false},
		{"within the grace period", []string{"--delete-orphans"}, "kept: changed", false},
		{"past the grace period", []string{"--delete-orphans", "--grace", "0"}, "deleted", true},
	} {
		code, stdout, stderr := run(append([]string{"volume", "reconcile"}, c.args...)...)
		if code != exitFindings || lines(stdout, "node1@local1", " orphan ", "volume", orphanID, orphan, c.outcome) != 1 ||
			lines(stdout, "node1@local1", "missing", missing, "available", "reported") != 1 || lines(stdout, " orphan ") != 1 ||
			lines(stdout, "summary", "3 volumes") != 1 {
			t.Fatalf("%s: exit %d\n%s\n%s", c.name, code, stdout, stderr)
		}
		if exists(orphan) == c.gone || !exists(owned) || !exists(inFlight) {
			t.Fatalf("%s: orphan exists %v, owned %v, in flight %v", c.name, exists(orphan), exists(owned), exists(inFlight))
		}
	}
	code, stdout, _ := run("volume", "reconcile", "--delete-orphans", "--grace", "0")
	if code != exitFindings || lines(stdout, " orphan ") != 0 || lines(stdout, " missing ") != 1 {
		t.Fatalf("after the delete: exit %d\n%s", code, stdout)
	}

	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"--host", "node1@other"}, exitFailure, `no backend of this node is "node1@other"`},
		{[]string{"--grace", "-1"}, exitUsage, "usage"},
		{[]string{"--bogus"}, exitUsage, "bogus"},
	} {
		if code, _, stderr := run(append([]string{"volume", "reconcile"}, c.args...)...); code != c.code || !strings.Contains(stderr, c.says) {
			t.Errorf("%v: exit %d, want %d saying %q:\n%s", c.args, code, c.code, c.says, stderr)
		}
	}
}
