package backup

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpcapi"
)

// recordTime is how Cinder's records write a time (oslo's isotime, in UTC).
const recordTime = "2006-01-02T15:04:05Z"

// EncodeRecord is Cinder's Backup.encode_record: the base64 of the JSON of every field of
// backup b (as Cinder's Backup object names them, parent left out), with driverInfo under
// driver_info.
func EncodeRecord(b *resource.Backup, driverInfo map[string]any) (string, error) {
	str := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	tm := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return t.UTC().Format(recordTime)
	}
	created := b.CreatedAt
	md := b.Metadata
	if md == nil {
		md = map[string]string{}
	}
	rec := map[string]any{
		"driver_info":           driverInfo,
		"id":                    b.ID,
		"user_id":               b.UserID,
		"project_id":            b.ProjectID,
		"volume_id":             b.VolumeID,
		"host":                  str(b.Host),
		"availability_zone":     str(b.AvailabilityZone),
		"container":             str(b.Container),
		"parent_id":             str(b.ParentID),
		"status":                b.Status,
		"fail_reason":           str(b.FailReason),
		"size":                  b.Size,
		"display_name":          str(b.Name),
		"display_description":   str(b.Description),
		"service_metadata":      str(b.ServiceMetadata),
		"service":               str(b.Service),
		"object_count":          b.ObjectCount,
		"temp_volume_id":        str(b.TempVolumeID),
		"temp_snapshot_id":      str(b.TempSnapshotID),
		"num_dependent_backups": b.NumDependentBackups,
		"snapshot_id":           str(b.SnapshotID),
		"data_timestamp":        tm(b.DataTimestamp),
		"restore_volume_id":     str(b.RestoreVolumeID),
		"metadata":              md,
		"encryption_key_id":     str(b.EncryptionKeyID),
		"created_at":            tm(&created),
		"updated_at":            tm(b.UpdatedAt),
		"deleted_at":            tm(b.DeletedAt),
		"deleted":               b.DeletedAt != nil,
	}
	if driverInfo == nil {
		rec["driver_info"] = map[string]any{}
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return "", fmt.Errorf("encode record of backup %s: %w", b.ID, err)
	}
	return base64.StdEncoding.EncodeToString(data), nil
}

// requiredRecordFields are the fields an imported record must hold, as Cinder's
// import_record requires them.
var requiredRecordFields = []string{"display_name", "display_description", "container", "size", "service_metadata", "object_count", "id"}

// DecodeRecord is Cinder's Backup.decode_record and the checks of its import_record: the
// backup a record describes and its driver_info. A record that is not base64 of a JSON
// object, or lacks a required field, is an error saying so.
func DecodeRecord(url string) (*resource.Backup, map[string]any, error) {
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(url))
	if err != nil {
		return nil, nil, fmt.Errorf("Can't decode backup record: %w", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, fmt.Errorf("Can't parse backup record: %w", err)
	}
	var missing []string
	for _, k := range requiredRecordFields {
		if _, ok := raw[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, nil, fmt.Errorf("Driver successfully decoded imported backup data, but there are missing fields (%s).", strings.Join(missing, ", "))
	}
	s := func(k string) string {
		v, _ := raw[k].(string)
		return v
	}
	n := func(k string) int {
		switch v := raw[k].(type) {
		case float64:
			return int(v)
		case string:
			var i int
			fmt.Sscan(v, &i)
			return i
		}
		return 0
	}
	b := &resource.Backup{ID: s("id"), VolumeID: s("volume_id"), UserID: s("user_id"), ProjectID: s("project_id"),
		Host: s("host"), AvailabilityZone: s("availability_zone"), Name: s("display_name"), Description: s("display_description"),
		Container: s("container"), Status: s("status"), ServiceMetadata: s("service_metadata"), Service: s("service"),
		Size: n("size"), ObjectCount: n("object_count"), ParentID: s("parent_id"), SnapshotID: s("snapshot_id"),
		EncryptionKeyID: s("encryption_key_id"), Metadata: map[string]string{}}
	if ts := s("data_timestamp"); ts != "" {
		if t, err := parseRecordTime(ts); err == nil {
			b.DataTimestamp = &t
		}
	}
	if md, ok := raw["metadata"].(map[string]any); ok {
		for _, k := range slices.Sorted(maps.Keys(md)) {
			if v, ok := md[k].(string); ok {
				b.Metadata[k] = v
			}
		}
	}
	info, _ := raw["driver_info"].(map[string]any)
	if info == nil {
		info = map[string]any{}
	}
	return b, info, nil
}

// parseRecordTime reads a time as Cinder's records write it (with or without a fraction or
// an offset).
func parseRecordTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q is not ISO 8601", s)
}

// ExportRecord answers export_record for backup id: its service and record. A backup that is
// not available, or that another driver wrote, is refused with Cinder's words (a
// *resource.BackupRefusedError).
func (m *Manager) ExportRecord(ctx context.Context, id string) (*rpcapi.BackupRecord, error) {
	log := m.opLog(ctx, id)
	b, err := m.Store.GetBackup(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("export backup %s: %w", id, err)
	}
	if b.Status != resource.BackupAvailable {
		return nil, &resource.BackupRefusedError{Kind: "Backup", Reason: fmt.Sprintf(
			"Export backup aborted, expected backup status %s but got %s.", resource.BackupAvailable, b.Status)}
	}
	if b.Service != m.Driver.Service() {
		return nil, &resource.BackupRefusedError{Kind: "Backup", Reason: fmt.Sprintf(
			"Export record aborted, the backup service currently configured [%s] is not the backup service that was used to create this backup [%s].",
			m.Driver.Service(), b.Service)}
	}
	info, err := m.Driver.ExportRecord(ctx, b)
	if err != nil {
		return nil, &resource.BackupRefusedError{Kind: "Backup", Reason: err.Error()}
	}
	url, err := EncodeRecord(b, info)
	if err != nil {
		return nil, &resource.BackupRefusedError{Kind: "Backup", Reason: err.Error()}
	}
	log.Info("backup record exported")
	return &rpcapi.BackupRecord{BackupService: b.Service, BackupURL: url}, nil
}

// ImportRecord finishes the import of backup a.BackupID (creating): the record is decoded,
// the driver checks that the store holds the backup, and the row takes the record's fields
// with this host, zone and driver (FinishBackupImport); any failure ends the backup error
// with the reason.
func (m *Manager) ImportRecord(ctx context.Context, a rpcapi.ImportBackupArgs) error {
	log := m.opLog(ctx, a.BackupID)
	b, err := m.Store.GetBackup(ctx, a.BackupID)
	if gone(err) {
		log.WithError(err).Warn("import_record of a backup that is gone; dropped")
		return nil
	}
	if err != nil {
		return fmt.Errorf("import backup %s: %w", a.BackupID, err)
	}
	if b.Status != resource.BackupCreating {
		log.WithField("status", b.Status).Warn("import_record of a backup that is not creating; dropped")
		return nil
	}
	rec, err := m.importRecord(ctx, b, a)
	if err == nil {
		err = m.Store.FinishBackupImport(ctx, b.ID, *rec)
		if gone(err) {
			log.WithError(err).Warn("backup changed while it was imported")
			return nil
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		log.WithError(err).Error("backup import failed")
		reason := err.Error()
		if _, terr := m.Store.TransitionBackup(ctx, b.ID, []string{resource.BackupCreating},
			resource.BackupChange{Status: resource.BackupError, FailReason: &reason}); terr != nil && !gone(terr) {
			return fmt.Errorf("set backup %s to error: %w", b.ID, terr)
		}
		return nil
	}
	log.Info("backup record imported")
	return nil
}

func (m *Manager) importRecord(ctx context.Context, b *resource.Backup, a rpcapi.ImportBackupArgs) (*resource.Backup, error) {
	if a.BackupService != m.Driver.Service() {
		return nil, fmt.Errorf("Import record failed, cannot find backup service to perform the import. Request service %s.", a.BackupService)
	}
	rec, info, err := DecodeRecord(a.BackupURL)
	if err != nil {
		return nil, err
	}
	if rec.ID != b.ID {
		return nil, fmt.Errorf("Trying to import backup metadata from id %s into backup %s.", rec.ID, b.ID)
	}
	rec.Host, rec.AvailabilityZone, rec.Service = m.Host, m.Zone, m.Driver.Service()
	rec.ProjectID, rec.UserID = b.ProjectID, b.UserID
	if err := m.Driver.ImportRecord(ctx, rec, info); err != nil {
		return nil, err
	}
	return rec, nil
}
