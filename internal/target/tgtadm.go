// Package target exports a backend's local block devices and files to hosts over iSCSI with
// tgt (Cinder's target_helper = tgtadm): one target per volume, LUN 1, optional CHAP, and a
// persistent target file per volume so that targets come back after a tgtd restart.
package target

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/pkg/driver"
)

// LUN is the logical unit number of a volume in its target: tgt keeps LUN 0 for the
// controller, so the volume is LUN 1, as in Cinder's tgt helper.
const LUN = 1

// ErrUnavailable wraps the failures that make the target helper unusable: no tgtadm binary,
// or a tgtd that does not answer. A backend that sees it at start reports itself down.
var ErrUnavailable = errors.New("iSCSI target daemon unavailable")

// Config is the target helper's part of a backend section (Cinder's option names).
type Config struct {
	IPAddress    string // target_ip_address
	Port         int    // target_port
	Prefix       string // target_prefix, e.g. iqn.2010-10.org.openstack:
	VolumesDir   string // volumes_dir: the persistent target files
	UseCHAP      bool   // use_chap_auth
	CHAPUsername string // chap_username; "" generates one per volume
	CHAPPassword string // chap_password; "" generates one per volume
	WriteCache   bool   // iscsi_write_cache = on
}

// TGT is the tgtadm target helper. It implements volume.Exporter. Its methods may be called
// from several goroutines: changes to tgtd are serialized within the process, and target ids
// taken by another process sharing the daemon are retried.
type TGT struct {
	Config
	// Binary is the tgtadm command, "tgtadm" (looked up in PATH) when empty.
	Binary string
	// ControlPort is tgtd's management port (tgtd -C, tgtadm -C); 0 is tgtd's default.
	ControlPort int
	// Timeout bounds each tgtadm call; 0 is 30 seconds.
	Timeout time.Duration
	Log     logrus.FieldLogger

	mu sync.Mutex
}

// run is the one funnel through which tgtd is driven: tgtadm with LC_ALL=C, bounded in time.
// The error carries tgtadm's message.
func (t *TGT) run(ctx context.Context, args ...string) (string, error) {
	bin := t.Binary
	if bin == "" {
		bin = "tgtadm"
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	full := make([]string, 0, len(args)+4)
	if t.ControlPort != 0 {
		full = append(full, "-C", fmt.Sprint(t.ControlPort))
	}
	full = append(full, "--lld", "iscsi")
	full = append(full, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		var ee *exec.Error
		var pe *fs.PathError
		switch {
		case errors.As(err, &ee):
			return "", fmt.Errorf("%w: %s: %v", ErrUnavailable, bin, ee.Err)
		case errors.As(err, &pe):
			return "", fmt.Errorf("%w: %s: %v", ErrUnavailable, bin, pe.Err)
		case ctx.Err() != nil:
			return "", fmt.Errorf("%w: tgtadm %s: no answer within %s", ErrUnavailable, strings.Join(redact(args), " "), timeout)
		case strings.Contains(msg, "tgt daemon"):
			return "", fmt.Errorf("%w: tgtadm %s: %s", ErrUnavailable, strings.Join(redact(args), " "), msg)
		}
		return "", &CommandError{Args: redact(args), Msg: msg, Err: err}
	}
	return stdout.String(), nil
}

// CommandError is a tgtadm call that tgtd refused.
type CommandError struct {
	Args []string // the arguments, the password redacted
	Msg  string   // tgtadm's message
	Err  error
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("tgtadm %s: %s (%v)", strings.Join(e.Args, " "), e.Msg, e.Err)
}

func (e *CommandError) Unwrap() error { return e.Err }

func redact(args []string) []string {
	out := append([]string(nil), args...)
	for i := range out {
		if i > 0 && out[i-1] == "--password" {
			out[i] = "***"
		}
	}
	return out
}

// Setup checks that tgtadm can be run and tgtd answers, and creates volumes_dir. An error
// wraps ErrUnavailable when the daemon or the binary is missing.
func (t *TGT) Setup(ctx context.Context) error {
	if t.VolumesDir == "" {
		return fmt.Errorf("%w: volumes_dir is empty", driver.ErrInvalidConfig)
	}
	if err := os.MkdirAll(t.VolumesDir, 0o750); err != nil {
		return fmt.Errorf("create volumes_dir: %w", err)
	}
	if _, err := t.run(ctx, "--mode", "system", "--op", "show"); err != nil {
		return fmt.Errorf("iSCSI target helper tgtadm: %w", err)
	}
	return nil
}

// IQN is the target name of v.
func (t *TGT) IQN(v driver.Volume) string { return t.Prefix + storageName(v) }

func storageName(v driver.Volume) string {
	if v.Name != "" {
		return v.Name
	}
	return driver.StorageName(v.ID)
}

// Export creates v's target (idempotent: an existing one is kept, a damaged one re-made) and
// returns os-brick's iSCSI connection info. The CHAP credentials of an exported volume are
// those of its persistent target file, so a re-export answers the same.
func (t *TGT) Export(ctx context.Context, v driver.Volume, backing driver.BackingStore, c driver.Connector, accessMode string) (driver.ConnectionInfo, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	spec, err := t.specFor(v, backing)
	if err != nil {
		return driver.ConnectionInfo{}, err
	}
	if err := t.ensure(ctx, spec); err != nil {
		return driver.ConnectionInfo{}, fmt.Errorf("export volume %s: %w", v.ID, err)
	}
	// written once the target exists, so a failed export leaves nothing to restore; a crash
	// in between leaves a target without a file, which Exports still finds
	if err := t.writeFile(spec); err != nil {
		return driver.ConnectionInfo{}, err
	}
	return t.connectionInfo(v, spec, accessMode), nil
}

// specFor is the target of v: the one of its persistent file when it has one (keeping its
// credentials), else a new one.
func (t *TGT) specFor(v driver.Volume, backing driver.BackingStore) (*targetSpec, error) {
	iqn := t.IQN(v)
	old, err := t.readFile(iqn)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	spec := &targetSpec{IQN: iqn, Backing: backing.Path, BSType: backing.Type, WriteCache: t.WriteCache}
	if t.UseCHAP {
		switch {
		case old != nil && old.User != "":
			spec.User, spec.Password = old.User, old.Password
		default:
			spec.User, spec.Password = t.CHAPUsername, t.CHAPPassword
			if spec.User == "" {
				spec.User = randomString(20)
			}
			if spec.Password == "" {
				spec.Password = randomString(16)
			}
		}
	}
	return spec, nil
}

func (t *TGT) connectionInfo(v driver.Volume, s *targetSpec, accessMode string) driver.ConnectionInfo {
	portal := fmt.Sprintf("%s:%d", t.IPAddress, t.Port)
	if strings.Contains(t.IPAddress, ":") { // IPv6
		portal = fmt.Sprintf("[%s]:%d", t.IPAddress, t.Port)
	}
	data := map[string]any{
		"target_discovered": false,
		"target_portal":     portal,
		"target_iqn":        s.IQN,
		"target_lun":        LUN,
		"target_portals":    []string{portal},
		"target_iqns":       []string{s.IQN},
		"target_luns":       []int{LUN},
		"volume_id":         v.ID,
		"access_mode":       accessMode,
		"discard":           false,
		"encrypted":         false,
	}
	if s.User != "" {
		data["auth_method"] = "CHAP"
		data["auth_username"] = s.User
		data["auth_password"] = s.Password
	}
	return driver.ConnectionInfo{DriverVolumeType: "iscsi", Data: data}
}

// ensure makes tgtd hold the target of spec: kept when it is as wanted, else (re)created.
func (t *TGT) ensure(ctx context.Context, s *targetSpec) error {
	targets, err := t.show(ctx)
	if err != nil {
		return err
	}
	maxTID := 0
	for _, live := range targets {
		maxTID = max(maxTID, live.TID)
		if live.IQN != s.IQN {
			continue
		}
		if live.Backing[LUN] == s.Backing && sameStoreType(live.BSType[LUN], s.BSType) && (s.User == "" && len(live.Accounts) == 0 || s.User != "" && contains(live.Accounts, s.User)) {
			return nil
		}
		t.log().WithField("target", s.IQN).Warn("target differs from its persistent file; re-creating it")
		if _, err := t.run(ctx, "--mode", "target", "--op", "delete", "--force", "--tid", fmt.Sprint(live.TID)); err != nil {
			return err
		}
	}
	return t.create(ctx, s, maxTID+1)
}

// create adds the target of s under the first free tid from tid on (another process sharing
// tgtd may take one meanwhile), then its LUN, ACL and account. A half-made target is removed.
func (t *TGT) create(ctx context.Context, s *targetSpec, tid int) error {
	for tries := 0; ; tries++ {
		_, err := t.run(ctx, "--mode", "target", "--op", "new", "--tid", fmt.Sprint(tid), "--targetname", s.IQN)
		if err == nil {
			break
		}
		var ce *CommandError
		if tries < 100 && errors.As(err, &ce) && strings.Contains(ce.Msg, "already exists") {
			tid++
			continue
		}
		return err
	}
	if err := t.configure(ctx, s, tid); err != nil {
		if _, derr := t.run(ctx, "--mode", "target", "--op", "delete", "--force", "--tid", fmt.Sprint(tid)); derr != nil {
			t.log().WithError(derr).WithField("target", s.IQN).Error("could not remove a half-made target")
		}
		return err
	}
	t.log().WithFields(logrus.Fields{"target": s.IQN, "tid": tid, "chap": s.User != ""}).Info("iSCSI target created")
	return nil
}

func (t *TGT) configure(ctx context.Context, s *targetSpec, tid int) error {
	id := fmt.Sprint(tid)
	lun := []string{"--mode", "logicalunit", "--op", "new", "--tid", id, "--lun", fmt.Sprint(LUN)}
	if s.BSType != "" {
		lun = append(lun, "--bstype", s.BSType)
	}
	if _, err := t.run(ctx, append(lun, "--backing-store", s.Backing)...); err != nil {
		return err
	}
	if !s.WriteCache {
		if _, err := t.run(ctx, "--mode", "logicalunit", "--op", "update", "--tid", id, "--lun", fmt.Sprint(LUN), "--params", writeCacheOff); err != nil {
			return err
		}
	}
	if _, err := t.run(ctx, "--mode", "target", "--op", "bind", "--tid", id, "--initiator-address", "ALL"); err != nil {
		return err
	}
	if s.User == "" {
		return nil
	}
	if _, err := t.run(ctx, "--mode", "account", "--op", "new", "--user", s.User, "--password", s.Password); err != nil {
		var ce *CommandError
		if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "already exists") {
			return err
		}
		// a configured chap_username is shared by every target: keep it; the volume's own
		// account left by an earlier target gets its password set again
		if s.User != t.CHAPUsername {
			if _, err := t.run(ctx, "--mode", "account", "--op", "delete", "--user", s.User); err != nil {
				return err
			}
			if _, err := t.run(ctx, "--mode", "account", "--op", "new", "--user", s.User, "--password", s.Password); err != nil {
				return err
			}
		}
	}
	_, err := t.run(ctx, "--mode", "account", "--op", "bind", "--tid", id, "--user", s.User)
	return err
}

// sameStoreType reports whether tgtd's backing store type live is the one wanted ("" is
// tgt's default, which it shows as rdwr).
func sameStoreType(live, want string) bool {
	if want == "" {
		return live == "" || live == "rdwr"
	}
	return live == want
}

// writeCacheOff is the caching mode page (8) with the write cache disabled, as tgt-admin
// sends it for "write-cache off".
const writeCacheOff = "mode_page=8:0:18:0x10:0:0xff:0xff:0:0:0xff:0xff:0xff:0xff:0x80:0x14:0:0:0:0:0:0"

// Unexport removes v's target, its account when it was generated for the volume, and its
// persistent file. A target that does not exist is not an error.
func (t *TGT) Unexport(ctx context.Context, v driver.Volume) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.remove(ctx, t.IQN(v))
}

func (t *TGT) remove(ctx context.Context, iqn string) error {
	spec, err := t.readFile(iqn)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.log().WithError(err).WithField("target", iqn).Warn("unreadable persistent target file; removing it")
	}
	targets, err := t.show(ctx)
	if err != nil {
		return fmt.Errorf("remove target %s: %w", iqn, err)
	}
	for _, live := range targets {
		if live.IQN != iqn {
			continue
		}
		if _, err := t.run(ctx, "--mode", "target", "--op", "delete", "--force", "--tid", fmt.Sprint(live.TID)); err != nil {
			var ce *CommandError
			if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "can't find the target") {
				return fmt.Errorf("remove target %s: %w", iqn, err)
			}
		}
		t.log().WithFields(logrus.Fields{"target": iqn, "tid": live.TID}).Info("iSCSI target removed")
	}
	if spec != nil && spec.User != "" && spec.User != t.CHAPUsername { // the volume's own account
		if _, err := t.run(ctx, "--mode", "account", "--op", "delete", "--user", spec.User); err != nil {
			t.log().WithError(err).WithField("target", iqn).Debug("account already gone")
		}
	}
	if err := os.Remove(t.filePath(iqn)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove persistent target file: %w", err)
	}
	return nil
}

// Exports returns the ids of the volumes with a target of this helper: a persistent file in
// volumes_dir, or a target in tgtd named with target_prefix and a volume's storage name.
func (t *TGT) Exports(ctx context.Context) ([]string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	seen := map[string]bool{}
	var ids []string
	add := func(iqn string) {
		name, ok := strings.CutPrefix(iqn, t.Prefix)
		if !ok {
			return
		}
		id, ok := strings.CutPrefix(name, driver.StorageName(""))
		if ok && id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	entries, err := os.ReadDir(t.VolumesDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read volumes_dir: %w", err)
	}
	for _, e := range entries {
		if name, ok := strings.CutPrefix(e.Name(), filePrefix); ok && strings.HasSuffix(name, fileSuffix) {
			add(t.Prefix + strings.TrimSuffix(name, fileSuffix))
		}
	}
	targets, err := t.show(ctx)
	if err != nil {
		return nil, err
	}
	for _, live := range targets {
		add(live.IQN)
	}
	return ids, nil
}

// Restore re-creates the target of volume id from its persistent file when tgtd lost it (a
// tgtd restart). A volume without a file has nothing to restore.
func (t *TGT) Restore(ctx context.Context, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	iqn := t.IQN(driver.Volume{ID: id})
	spec, err := t.readFile(iqn)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := t.ensure(ctx, spec); err != nil {
		return fmt.Errorf("restore target %s: %w", iqn, err)
	}
	return nil
}

// Remove removes the target of volume id, as Unexport.
func (t *TGT) Remove(ctx context.Context, id string) error {
	return t.Unexport(ctx, driver.Volume{ID: id})
}

func (t *TGT) log() logrus.FieldLogger {
	if t.Log == nil {
		l := logrus.New()
		l.SetOutput(nopWriter{})
		return l
	}
	return t.Log
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// randomString returns n characters from letters and digits, as Cinder's generated CHAP
// credentials.
func randomString(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on Linux
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
