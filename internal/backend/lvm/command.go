package lvm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/scoria/scoria/pkg/driver"
)

// Runner runs one command to completion and returns what it wrote to standard output. env
// holds NAME=value pairs added to the environment. A failure is a *CommandError.
type Runner interface {
	Run(ctx context.Context, env []string, name string, args ...string) ([]byte, error)
}

// ExecRunner runs commands with os/exec: the Runner of a real backend.
type ExecRunner struct{}

// Run runs name with args under ctx, with env added to this process's environment.
func (ExecRunner) Run(ctx context.Context, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return stdout.Bytes(), &CommandError{Command: append([]string{name}, args...), Stderr: stderr.String(), Err: err}
	}
	return stdout.Bytes(), nil
}

// CommandError is a command that failed: the command line, what it wrote to standard
// error, and how it ended.
type CommandError struct {
	Command []string
	Stderr  string
	Err     error
}

func (e *CommandError) Error() string {
	msg := strings.Join(e.Command, " ") + ": " + e.Err.Error()
	if s := relevantStderr(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

func (e *CommandError) Unwrap() error { return e.Err }

// relevantStderr drops lvm's warnings that say nothing about a failure, and joins the rest.
func relevantStderr(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "",
			strings.HasPrefix(line, "File descriptor") && strings.Contains(line, "leaked on"),
			strings.HasPrefix(line, "WARNING: Activation disabled"),
			strings.HasPrefix(line, "WARNING: This metadata update is NOT backed up"):
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "; ")
}

// reportArgs make every lvm report JSON in plain bytes.
var reportArgs = []string{"--reportformat", "json", "--units", "b", "--nosuffix"}

// lvmEnv is the environment of every lvm command, as Cinder runs them: the C locale, the
// driver's configuration directory, and the file-descriptor warnings silenced if asked.
func (d *Driver) lvmEnv() []string {
	env := []string{"LC_ALL=C"}
	if dir := d.confDir(); dir != "" {
		env = append(env, "LVM_SYSTEM_DIR="+dir)
	}
	if d.SuppressFDWarnings {
		env = append(env, "LVM_SUPPRESS_FD_WARNINGS=1")
	}
	return env
}

// lvm is the funnel every LVM command goes through: `<lvm binary> <subcommand> args…` with
// lvmEnv, bounded by the command timeout.
func (d *Driver) lvm(ctx context.Context, sub string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	out, err := d.runner().Run(ctx, d.lvmEnv(), d.lvmBinary(), append([]string{sub}, args...)...)
	return out, typed(err)
}

// typed marks a command that failed for lack of room in the volume group or thin pool
// ("Volume group … has insufficient free space", "Insufficient free space: …") as
// driver.ErrNoSpace, keeping its message.
func typed(err error) error {
	var ce *CommandError
	if errors.As(err, &ce) && strings.Contains(strings.ToLower(ce.Stderr), "insufficient free space") {
		return driver.Mark(err, driver.ErrNoSpace)
	}
	return err
}

// copyData is the funnel of the data commands (clearing and copies), which need active
// logical volumes: dd with the C locale, bounded only by ctx because a copy takes as long as
// the volume is large.
func (d *Driver) copyData(ctx context.Context, args ...string) error {
	_, err := d.runner().Run(ctx, []string{"LC_ALL=C"}, d.ddBinary(), args...)
	return err
}

// lvReport is one row of `lvs`.
type lvReport struct {
	Name        string `json:"lv_name"`
	Size        string `json:"lv_size"`
	Attr        string `json:"lv_attr"`
	Pool        string `json:"pool_lv"`
	Origin      string `json:"origin"`
	DataPercent string `json:"data_percent"`
}

// vgReport is the row of `vgs`.
type vgReport struct {
	Name    string `json:"vg_name"`
	Size    string `json:"vg_size"`
	Free    string `json:"vg_free"`
	LVCount string `json:"lv_count"`
}

func (l lvReport) bytes() int64 { n, _ := strconv.ParseInt(l.Size, 10, 64); return n }

// thinPool reports whether the row is a thin pool (lv_attr's volume type 't').
func (l lvReport) thinPool() bool { return len(l.Attr) > 0 && l.Attr[0] == 't' }

// report runs an lvm report command and decodes its rows of kind ("lv", "vg").
func report[T any](ctx context.Context, d *Driver, sub, kind string, fields []string, args ...string) ([]T, error) {
	full := append(append(append([]string{}, reportArgs...), "-o", strings.Join(fields, ",")), args...)
	out, err := d.lvm(ctx, sub, full...)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Report []map[string]json.RawMessage `json:"report"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("lvm %s: reading its JSON report: %w", sub, err)
	}
	var rows []T
	for _, r := range doc.Report {
		raw, ok := r[kind]
		if !ok {
			continue
		}
		var part []T
		if err := json.Unmarshal(raw, &part); err != nil {
			return nil, fmt.Errorf("lvm %s: reading its JSON report: %w", sub, err)
		}
		rows = append(rows, part...)
	}
	return rows, nil
}

var lvFields = []string{"lv_name", "lv_size", "lv_attr", "pool_lv", "origin", "data_percent"}

// lvs returns the logical volumes of the volume group by name.
func (d *Driver) lvs(ctx context.Context) (map[string]lvReport, error) {
	rows, err := report[lvReport](ctx, d, "lvs", "lv", lvFields, d.VolumeGroup)
	if err != nil {
		return nil, fmt.Errorf("list the logical volumes of %s: %w", d.VolumeGroup, err)
	}
	out := make(map[string]lvReport, len(rows))
	for _, r := range rows {
		out[r.Name] = r
	}
	return out, nil
}

// vg returns the volume group's figures.
func (d *Driver) vg(ctx context.Context) (vgReport, error) {
	rows, err := report[vgReport](ctx, d, "vgs", "vg", []string{"vg_name", "vg_size", "vg_free", "lv_count"}, d.VolumeGroup)
	if err != nil {
		return vgReport{}, fmt.Errorf("volume group %s: %w", d.VolumeGroup, err)
	}
	if len(rows) != 1 {
		return vgReport{}, fmt.Errorf("volume group %s: vgs reported %d groups", d.VolumeGroup, len(rows))
	}
	return rows[0], nil
}
