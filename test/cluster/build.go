package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Binaries a cluster runs; Build makes them all.
const (
	BinAPI       = "scoria-api"
	BinScheduler = "scoria-scheduler"
	BinVolume    = "scoria-volume"
	BinManage    = "scoria-manage"
)

// ModuleRoot finds the directory of Scoria's go.mod, walking up from the working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			if strings.Contains(string(b), "module github.com/scoria/scoria\n") {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of github.com/scoria/scoria above the working directory")
		}
		dir = parent
	}
}

// Build compiles every binary of cmd/ into outDir (a normal build, without the race detector:
// the processes are the system under test, not the test).
func Build(ctx context.Context, outDir string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	args := []string{"build"}
	if buildTags != "" {
		args = append(args, "-tags", buildTags)
	}
	cmd := exec.CommandContext(ctx, goBin, append(args, "-o", outDir+string(filepath.Separator), "./cmd/...")...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build ./cmd/... in %s: %v\n%s", root, err, out)
	}
	for _, b := range []string{BinAPI, BinScheduler, BinVolume, BinManage, BinBackup} {
		if _, err := os.Stat(filepath.Join(outDir, b)); err != nil {
			return fmt.Errorf("go build ./cmd/... made no %s: %w", b, err)
		}
	}
	return nil
}
