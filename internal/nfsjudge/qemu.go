package nfsjudge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// run runs a command bounded by ctx (DefaultTimeout when ctx has no deadline) with LC_ALL=C
// and returns its standard output; a failure carries its standard error.
func run(ctx context.Context, name string, args ...string) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// Cat returns the bytes of the file at the nfs:// URL as libnfs-utils' nfs-cat reads them.
func Cat(ctx context.Context, url string) ([]byte, error) {
	return run(ctx, "nfs-cat", url)
}

// QemuImgInfo returns what `qemu-img info --output=json` says of the image at the nfs:// URL
// (or a local path): its format, virtual size and backing file name ("" for none).
func QemuImgInfo(ctx context.Context, url string) (format string, virtualSize int64, backingFile string, err error) {
	out, err := run(ctx, "qemu-img", "info", "--output=json", url)
	if err != nil {
		return "", 0, "", err
	}
	var info struct {
		Format      string `json:"format"`
		VirtualSize int64  `json:"virtual-size"`
		BackingFile string `json:"backing-filename"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return "", 0, "", fmt.Errorf("qemu-img info %s: %w", url, err)
	}
	return info.Format, info.VirtualSize, info.BackingFile, nil
}

// QemuIOWrite writes data at off into the image at the nfs:// URL, read as format (raw,
// qcow2), with qemu-io: what a guest writing through qemu's nfs:// driver would write.
func QemuIOWrite(ctx context.Context, url, format string, data []byte, off int64) error {
	f, err := os.CreateTemp("", "nfsjudge-write-*")
	if err != nil {
		return fmt.Errorf("qemu-io write source: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("qemu-io write source: %w", err)
	}
	_, err = run(ctx, "qemu-io", "-f", format, "-c", fmt.Sprintf("write -s %s %d %d", f.Name(), off, len(data)), url)
	return err
}

// QemuIORead reads n bytes at off from the image at the nfs:// URL, read as format, with
// qemu-io (`read -v`, its hex dump parsed).
func QemuIORead(ctx context.Context, url, format string, off, n int64) ([]byte, error) {
	out, err := run(ctx, "qemu-io", "-f", format, "-c", fmt.Sprintf("read -v %d %d", off, n), url)
	if err != nil {
		return nil, err
	}
	data, err := parseQemuIODump(out, off, n)
	if err != nil {
		return nil, fmt.Errorf("qemu-io read %s: %w", url, err)
	}
	if int64(len(data)) != n {
		return nil, fmt.Errorf("qemu-io read %s: %d bytes in its dump, want %d", url, len(data), n)
	}
	return data, nil
}

// parseQemuIODump reads qemu-io's `read -v` dump: lines "<hex offset>:  xx xx … ascii", 16
// bytes each (the last one fewer), starting at off and contiguous; n bounds what is taken from
// a line, so that an ASCII column that looks like hex is never read as bytes; the summary lines
// ("read N/N bytes …") are skipped.
func parseQemuIODump(out []byte, off, n int64) ([]byte, error) {
	var data []byte
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		addr, rest, ok := strings.Cut(line, ":  ")
		if !ok {
			continue
		}
		at, err := strconv.ParseInt(strings.TrimSpace(addr), 16, 64)
		if err != nil {
			continue
		}
		if at != off+int64(len(data)) {
			return nil, fmt.Errorf("dump line at %#x, want %#x", at, off+int64(len(data)))
		}
		fields := strings.Fields(rest)
		want := int(min(16, n-int64(len(data))))
		for i := 0; i < len(fields) && i < want; i++ {
			if len(fields[i]) != 2 {
				break
			}
			b, err := hex.DecodeString(fields[i])
			if err != nil {
				break
			}
			data = append(data, b[0])
		}
	}
	return data, sc.Err()
}
