package ceph

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

// backupSnapPattern matches the snapshots the driver makes, as Cinder's
// backup_snapshot_name_pattern: backup.<backup id>.snap.<timestamp>. Snapshots made for other
// purposes never have this form.
var backupSnapPattern = regexp.MustCompile(`^backup\.([a-z0-9\-]+?)\.snap\.(.+)$`)

// backupSnap is one backup snapshot of an image.
type backupSnap struct {
	Name      string
	BackupID  string
	Timestamp string
}

// backupSnaps answers the backup snapshots among names, oldest first (by timestamp).
func backupSnaps(names []string) []backupSnap {
	var out []backupSnap
	for _, n := range names {
		if m := backupSnapPattern.FindStringSubmatch(n); m != nil {
			out = append(out, backupSnap{Name: m[0], BackupID: m[1], Timestamp: m[2]})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return snapTime(out[i].Timestamp) < snapTime(out[j].Timestamp) })
	return out
}

func snapTime(ts string) float64 {
	f, err := strconv.ParseFloat(ts, 64)
	if err != nil {
		return 0
	}
	return f
}

// snapOf answers the snapshot of backup id among names, "" when it has none; a backup has at
// most one (Cinder's _get_backup_snap_name).
func snapOf(names []string, id string) (string, error) {
	var found []string
	for _, s := range backupSnaps(names) {
		if s.BackupID == id {
			found = append(found, s.Name)
		}
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("backup should only have one snapshot but instead has %d", len(found))
}

// newSnapName answers a new snapshot name for backup id at t, as Cinder's
// _get_new_snap_name (Python's time.time()).
func newSnapName(id string, t time.Time) string {
	return fmt.Sprintf("backup.%s.snap.%s", id, strconv.FormatFloat(float64(t.UnixMicro())/1e6, 'f', -1, 64))
}

// legacyBaseName is the base image of a volume's incremental backups in older Cinder, still
// read by restore and delete.
func legacyBaseName(volumeID string) string { return "volume-" + volumeID + ".backup.base" }

// fullImageName is the image of backup id of volumeID: its own full copy, or the base image
// of the chain it starts.
func fullImageName(volumeID, id string) string { return "volume-" + volumeID + ".backup." + id }

// serviceMetadata is what the driver keeps in backups.service_metadata of an RBD backup.
type serviceMetadata struct {
	Base string `json:"base"`
}

// encodeServiceMetadata answers Cinder's service_metadata for a backup in base image base:
// {"base": "<base>"}.
func encodeServiceMetadata(base string) string {
	return fmt.Sprintf(`{"base": %q}`, base)
}

// baseFromMetadata answers the base image in service_metadata, "" when it names none.
func baseFromMetadata(md string) string {
	if md == "" {
		return ""
	}
	var m serviceMetadata
	if err := json.Unmarshal([]byte(md), &m); err != nil {
		return ""
	}
	return m.Base
}

// baseName answers the image that holds backup b as Cinder's _get_backup_base_name: the one
// in its service_metadata; for an incremental one without it, its parent's base (or the
// legacy base of parents from older Cinder); else its own image.
func baseName(b, parent *resource.Backup) string {
	if n := baseFromMetadata(b.ServiceMetadata); n != "" {
		return n
	}
	if parent != nil {
		if n := baseFromMetadata(parent.ServiceMetadata); n != "" {
			return n
		}
		return legacyBaseName(b.VolumeID)
	}
	return fullImageName(b.VolumeID, b.ID)
}

// tmpName is where a full copy is written before it is renamed to name.
func tmpName(name string) string { return name + ".tmp" }

// metaObjectName is the RADOS object of a backup's volume metadata in Cinder
// (VolumeMetadataBackup), removed with the backup.
func metaObjectName(id string) string { return "backup." + id + ".meta" }

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	for len(b) >= 8 {
		if b[0]|b[1]|b[2]|b[3]|b[4]|b[5]|b[6]|b[7] != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// keyFrom answers the secret of a keyring's text ("key = AQ…"), or the text itself when it
// is a bare key.
func keyFrom(keyring string) string {
	for _, line := range strings.Split(keyring, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && strings.TrimSpace(k) == "key" {
			return strings.TrimSpace(v)
		}
	}
	return strings.TrimSpace(keyring)
}
