package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/scoria/scoria/test/cluster"
)

// tgtExport is the iSCSI export of an -attach run: the volume processes' backends export
// through the machine's tgtd (target_helper=tgtadm, CHAP) under a target prefix of this run
// only, so the run's targets can be told from any other's.
type tgtExport struct {
	prefix string // target_prefix, e.g. iqn.2010-10.org.scoria-bench-1a2b3c4d:
	dir    string // volumes_dir: the target files
}

// newTGTExport checks that tgtd answers and makes the run's prefix and target directory.
func newTGTExport() (*tgtExport, error) {
	if out, err := exec.Command("tgtadm", "--lld", "iscsi", "--mode", "system", "--op", "show").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("-attach needs a running tgtd (Debian: tgt) answering tgtadm: %v %s", err, strings.TrimSpace(string(out)))
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "scoria-load-targets-")
	if err != nil {
		return nil, err
	}
	return &tgtExport{prefix: "iqn.2010-10.org.scoria-bench-" + hex.EncodeToString(b) + ":", dir: dir}, nil
}

// volumes is one volume process per host whose backend exports through tgtd with CHAP.
func (t *tgtExport) volumes(hosts []string) []cluster.VolumeSpec {
	specs := make([]cluster.VolumeSpec, len(hosts))
	for i, h := range hosts {
		specs[i] = cluster.VolumeSpec{Host: h, Backends: []cluster.BackendSpec{{Name: cluster.BackendName, Options: map[string]string{
			"target_helper": "tgtadm", "use_chap_auth": "true", "target_prefix": t.prefix,
			"volumes_dir": t.dir, "target_ip_address": "127.0.0.1",
		}}}}
	}
	return specs
}

// left lists the targets of this run that tgtd still exports.
func (t *tgtExport) left() []string {
	out, err := exec.Command("tgtadm", "--lld", "iscsi", "--mode", "target", "--op", "show").CombinedOutput()
	if err != nil {
		return []string{fmt.Sprintf("(tgtadm show: %v)", err)}
	}
	var iqns []string
	for _, line := range strings.Split(string(out), "\n") {
		// "Target 3: iqn.2010-10.org.scoria-bench-…:volume-…"
		if _, iqn, ok := strings.Cut(line, ": "); ok && strings.HasPrefix(line, "Target ") && strings.HasPrefix(iqn, t.prefix) {
			iqns = append(iqns, strings.TrimSpace(iqn))
		}
	}
	return iqns
}

// close removes the run's targets that are left, and the target directory.
func (t *tgtExport) close() {
	for _, iqn := range t.left() {
		if strings.HasPrefix(iqn, t.prefix) {
			_ = exec.Command("tgt-admin", "--delete", iqn, "--force").Run()
		}
	}
	_ = os.RemoveAll(t.dir)
}
