package volumeio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// qemuImgBin is the qemu-img command, looked up in PATH.
const qemuImgBin = "qemu-img"

// secretFD is the descriptor at which qemu-img reads a secret (its fourth: ExtraFiles[0]).
const secretFD = "/dev/fd/3"

// qemuImg is the one funnel through which qemu-img runs: LC_ALL=C, bounded by ctx. A
// non-empty secret is handed over through a pipe at secretFD (never on the command line,
// never in a file); the arguments must not contain it. The error carries qemu-img's
// message.
func qemuImg(ctx context.Context, secret string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, qemuImgBin, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if secret != "" {
		r, w, err := os.Pipe()
		if err != nil {
			return "", fmt.Errorf("qemu-img: a pipe for the secret: %w", err)
		}
		defer r.Close()
		// A pipe holds far more than a password: written whole before qemu-img starts.
		_, err = w.WriteString(secret)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("qemu-img: write the secret: %w", err)
		}
		cmd.ExtraFiles = []*os.File{r}
	}
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if ctx.Err() != nil {
			return "", fmt.Errorf("qemu-img %s: %w", args[0], ctx.Err())
		}
		var ee *exec.Error
		if errors.As(err, &ee) {
			return "", fmt.Errorf("qemu-img: %w (Debian: qemu-utils, qemu-block-extra)", ee.Err)
		}
		return "", fmt.Errorf("qemu-img %s: %s (%w)", args[0], msg, err)
	}
	return stdout.String(), nil
}

// imageInfo is what qemu-img info answers that volumeio uses.
type imageInfo struct {
	VirtualSize     int64  `json:"virtual-size"`
	Format          string `json:"format"`
	BackingFilename string `json:"backing-filename"`
}

// qemuInfo runs qemu-img info with args (the image and how to read it) and decodes it.
func qemuInfo(ctx context.Context, secret string, args ...string) (imageInfo, error) {
	out, err := qemuImg(ctx, secret, append([]string{"info", "--output", "json"}, args...)...)
	if err != nil {
		return imageInfo{}, err
	}
	var ii imageInfo
	if err := json.Unmarshal([]byte(out), &ii); err != nil {
		return imageInfo{}, fmt.Errorf("qemu-img info: decode its answer: %w", err)
	}
	if ii.VirtualSize <= 0 {
		return imageInfo{}, fmt.Errorf("qemu-img info: no virtual size in %q", out)
	}
	return ii, nil
}

// qemuOpt escapes a value of a qemu option list (a comma is doubled).
func qemuOpt(v string) string { return strings.ReplaceAll(v, ",", ",,") }
