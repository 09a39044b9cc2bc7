package target

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// targetSpec is one volume's target as its persistent file records it.
type targetSpec struct {
	IQN            string
	Backing        string // the volume's device or file, or the store's path for BSType
	BSType         string // tgt's --bstype ("sheepdog"); "": tgt's default (rdwr)
	User, Password string // incoming CHAP account; "" without CHAP
	WriteCache     bool
}

// Persistent target files are volumes_dir/tgt-<storage name>.conf, in tgt's configuration
// format, so that tgt-admin can also read them (include volumes_dir/tgt-*.conf in
// /etc/tgt/conf.d). The "tgt-" prefix keeps them apart from the local-file backend's volume
// files, which live in $state_path/volumes as well by default.
const (
	filePrefix = "tgt-"
	fileSuffix = ".conf"
)

func (t *TGT) filePath(iqn string) string {
	return filepath.Join(t.VolumesDir, filePrefix+strings.TrimPrefix(iqn, t.Prefix)+fileSuffix)
}

// writeFile records s atomically (a temporary file renamed into place), unless the file
// already says the same.
func (t *TGT) writeFile(s *targetSpec) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by scoria-volume: the iSCSI target of a volume, restored after a tgtd restart.\n")
	fmt.Fprintf(&b, "<target %s>\n", s.IQN)
	if s.BSType != "" {
		fmt.Fprintf(&b, "    bs-type %s\n", s.BSType)
	}
	fmt.Fprintf(&b, "    backing-store %s\n", s.Backing)
	b.WriteString("    driver iscsi\n")
	if s.User != "" {
		fmt.Fprintf(&b, "    incominguser %s %s\n", s.User, s.Password)
	}
	if s.WriteCache {
		b.WriteString("    write-cache on\n")
	} else {
		b.WriteString("    write-cache off\n")
	}
	b.WriteString("</target>\n")
	path := t.filePath(s.IQN)
	if old, err := os.ReadFile(path); err == nil && string(old) == b.String() {
		return nil
	}
	if err := os.MkdirAll(t.VolumesDir, 0o750); err != nil {
		return fmt.Errorf("create volumes_dir: %w", err)
	}
	tmp := path + ".partial"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil { // it holds the CHAP secret
		return fmt.Errorf("write persistent target file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write persistent target file: %w", err)
	}
	return nil
}

// readFile reads the persistent file of the target iqn; os.ErrNotExist when there is none.
func (t *TGT) readFile(iqn string) (*targetSpec, error) {
	path := t.filePath(iqn)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := &targetSpec{WriteCache: true}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch {
		case f[0] == "<target" && len(f) == 2:
			s.IQN = strings.TrimSuffix(f[1], ">")
		case f[0] == "backing-store" && len(f) == 2:
			s.Backing = f[1]
		case f[0] == "bs-type" && len(f) == 2:
			s.BSType = f[1]
		case f[0] == "incominguser" && len(f) == 3:
			s.User, s.Password = f[1], f[2]
		case f[0] == "write-cache" && len(f) == 2:
			s.WriteCache = f[1] != "off"
		}
	}
	if s.IQN != iqn || s.Backing == "" {
		return nil, fmt.Errorf("persistent target file %s: no target %s with a backing-store", path, iqn)
	}
	return s, nil
}

// liveTarget is a target as tgtd shows it.
type liveTarget struct {
	TID      int
	IQN      string
	Backing  map[int]string // LUN → backing store path
	BSType   map[int]string // LUN → backing store type ("rdwr", "sheepdog", …)
	Accounts []string
}

// show lists tgtd's targets (tgtadm --mode target --op show).
func (t *TGT) show(ctx context.Context) ([]liveTarget, error) {
	out, err := t.run(ctx, "--mode", "target", "--op", "show")
	if err != nil {
		return nil, err
	}
	return parseShow(out)
}

// parseShow reads the output of tgtadm --mode target --op show: "Target <tid>: <iqn>" blocks
// with "LUN: <n>" … "Backing store path: <path>" and an "Account information:" list.
func parseShow(out string) ([]liveTarget, error) {
	var targets []liveTarget
	var cur *liveTarget
	lun, section := -1, ""
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "Target "); ok {
			num, iqn, found := strings.Cut(rest, ": ")
			tid, err := strconv.Atoi(num)
			if !found || err != nil {
				return nil, fmt.Errorf("tgtadm show: unexpected line %q", line)
			}
			targets = append(targets, liveTarget{TID: tid, IQN: strings.TrimSpace(iqn), Backing: map[int]string{}, BSType: map[int]string{}})
			cur, lun, section = &targets[len(targets)-1], -1, ""
			continue
		}
		if cur == nil || trimmed == "" {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " \t"))
		if indent <= 4 && strings.HasSuffix(trimmed, ":") {
			section = strings.TrimSuffix(trimmed, ":")
			continue
		}
		switch section {
		case "LUN information":
			if v, ok := strings.CutPrefix(trimmed, "LUN: "); ok {
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, fmt.Errorf("tgtadm show: unexpected line %q", line)
				}
				lun = n
			} else if v, ok := strings.CutPrefix(trimmed, "Backing store path: "); ok && lun >= 0 {
				cur.Backing[lun] = v
			} else if v, ok := strings.CutPrefix(trimmed, "Backing store type: "); ok && lun >= 0 {
				cur.BSType[lun] = v
			}
		case "Account information":
			cur.Accounts = append(cur.Accounts, strings.TrimSuffix(trimmed, " (outgoing)"))
		}
	}
	return targets, sc.Err()
}
