package nfs

import (
	"bufio"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
)

// Share is one NFS share: its address as written ("host:/export") and the mount options of
// its line, "" for none (the backend's nfs_mount_options then apply).
type Share struct {
	Address string
	Options string
}

// shareFormat is Cinder's RemoteFSDriver.SHARE_FORMAT_REGEX.
var shareFormat = regexp.MustCompile(`^.+:/.+$`)

// ParseShares reads a shares file as Cinder does: blank lines and lines starting with '#' are
// skipped; the address is what comes before the first space (with \040 meaning a space in a
// path), the rest of the line its mount options. Unlike Cinder, which logs and skips a line
// that is not "address:/export", it refuses it, naming the line, so that a typo stops the
// service at start instead of silently losing a share; a share listed twice is refused too.
func ParseShares(r io.Reader) ([]Share, error) {
	var out []Share
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		addr, opts, _ := strings.Cut(line, " ")
		addr = strings.ReplaceAll(strings.TrimSpace(addr), `\040`, " ")
		if !shareFormat.MatchString(addr) {
			return nil, fmt.Errorf("line %d: share %q is not of the form address:/export", n, addr)
		}
		if first, dup := seen[addr]; dup {
			return nil, fmt.Errorf("line %d: share %s is already listed on line %d", n, addr, first)
		}
		seen[addr] = n
		out = append(out, Share{Address: addr, Options: strings.TrimSpace(opts)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read shares: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no shares listed")
	}
	return out, nil
}

// NASShare is the one share of nas_host and nas_share_path, Cinder's alternative to a shares
// file ("<nas_host>:<nas_share_path>").
func NASShare(host, path string) (Share, error) {
	host, path = strings.TrimSpace(host), strings.TrimSpace(path)
	addr := host + ":" + path
	if host == "" || !shareFormat.MatchString(addr) {
		return Share{}, fmt.Errorf("nas_host %q with nas_share_path %q is not a share of the form address:/export", host, path)
	}
	return Share{Address: addr}, nil
}

// MountPoint is where share is mounted under base (nfs_mount_point_base): base/<md5 of the
// address in hex>, the name os-brick's RemoteFsClient gives it, so that a volume host moved
// from Cinder finds its mounts where they were.
func MountPoint(base string, share Share) string {
	sum := md5.Sum([]byte(share.Address))
	return filepath.Join(base, hex.EncodeToString(sum[:]))
}
