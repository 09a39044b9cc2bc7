package nfsjudge

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Env is the test NFS server as deploy/nfs/nfs-up.sh describes it: its shares
// ("127.0.0.1:/export1") and, in the same order, the directories they export.
type Env struct {
	Shares []string
	Dirs   []string
}

// ErrNoServer means no test NFS server is described: neither the variables nor the env file.
var ErrNoServer = errors.New("no test NFS server: set SCORIA_TEST_NFS_SHARES and SCORIA_TEST_NFS_EXPORTS, or run deploy/nfs/nfs-up.sh (it writes $NFS_DIR/env)")

// LoadEnv reads SCORIA_TEST_NFS_SHARES and SCORIA_TEST_NFS_EXPORTS (comma-separated), each
// taken from $NFS_DIR/env [/tmp/scoria-nfs/env] when unset. It does not ask the server
// whether it answers: Mount does.
func LoadEnv() (Env, error) {
	shares, dirs := os.Getenv("SCORIA_TEST_NFS_SHARES"), os.Getenv("SCORIA_TEST_NFS_EXPORTS")
	if shares == "" || dirs == "" {
		dir := os.Getenv("NFS_DIR")
		if dir == "" {
			dir = "/tmp/scoria-nfs"
		}
		file, err := readEnvFile(filepath.Join(dir, "env"))
		if errors.Is(err, os.ErrNotExist) {
			return Env{}, ErrNoServer
		}
		if err != nil {
			return Env{}, err
		}
		if shares == "" {
			shares = file["SCORIA_TEST_NFS_SHARES"]
		}
		if dirs == "" {
			dirs = file["SCORIA_TEST_NFS_EXPORTS"]
		}
	}
	e := Env{Shares: splitList(shares), Dirs: splitList(dirs)}
	switch {
	case len(e.Shares) == 0:
		return Env{}, ErrNoServer
	case len(e.Shares) != len(e.Dirs):
		return Env{}, fmt.Errorf("SCORIA_TEST_NFS_SHARES has %d shares but SCORIA_TEST_NFS_EXPORTS %d directories", len(e.Shares), len(e.Dirs))
	}
	for _, s := range e.Shares {
		if h, p, ok := strings.Cut(s, ":"); !ok || h == "" || !strings.HasPrefix(p, "/") {
			return Env{}, fmt.Errorf("SCORIA_TEST_NFS_SHARES: %q is not host:/export", s)
		}
	}
	return e, nil
}

// SubstituteExports returns the shares paired with their directories as the NFS driver's
// scoria_test_nfs_exports option takes them: "host:/export=/dir".
func (e Env) SubstituteExports() []string {
	out := make([]string, len(e.Shares))
	for i := range e.Shares {
		out[i] = e.Shares[i] + "=" + e.Dirs[i]
	}
	return out
}

// Split returns a share's host and export: "127.0.0.1:/export1" → "127.0.0.1", "/export1".
func Split(share string) (host, export string) {
	host, export, _ = strings.Cut(share, ":")
	return host, export
}

// URL returns the nfs:// URL of name in share: nfs://127.0.0.1/export1/name.
func URL(share, name string) string {
	host, export := Split(share)
	return "nfs://" + host + strings.TrimSuffix(export, "/") + "/" + strings.TrimPrefix(name, "/")
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("NFS test env: %w", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && !strings.HasPrefix(k, "#") {
			out[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("NFS test env %s: %w", path, err)
	}
	return out, nil
}
