package backup

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

// TestEncodeRecordHasCinderFields: the record holds every field of Cinder's Backup object
// (parent left out) and driver_info, times as oslo writes them, and decodes back.
func TestEncodeRecordHasCinderFields(t *testing.T) {
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123000, time.UTC)
	b := &resource.Backup{ID: "b1", VolumeID: "v1", UserID: "u", ProjectID: "p", Host: "node1", Container: "c",
		Status: resource.BackupAvailable, Size: 2, ObjectCount: 5, ServiceMetadata: "meta", Service: "svc",
		ParentID: "b0", DataTimestamp: &ts, CreatedAt: ts, Metadata: map[string]string{"k": "v"}, Name: "n"}
	url, err := EncodeRecord(b, map[string]any{"x": 1.0})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(url)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	want := []string{"id", "user_id", "project_id", "volume_id", "host", "availability_zone", "container", "parent_id",
		"status", "fail_reason", "size", "display_name", "display_description", "service_metadata", "service",
		"object_count", "temp_volume_id", "temp_snapshot_id", "num_dependent_backups", "snapshot_id", "data_timestamp",
		"restore_volume_id", "metadata", "encryption_key_id", "created_at", "updated_at", "deleted_at", "deleted", "driver_info"}
	for _, k := range want {
		if _, ok := rec[k]; !ok {
			t.Errorf("record lacks %s", k)
		}
	}
	for k := range rec {
		if !slices.Contains(want, k) {
			t.Errorf("record has %s, which Cinder's has not", k)
		}
	}
	if rec["data_timestamp"] != "2024-05-06T07:08:09Z" || rec["display_description"] != nil {
		t.Errorf("data_timestamp %v, display_description %v", rec["data_timestamp"], rec["display_description"])
	}
	got, info, err := DecodeRecord(url)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != b.ID || got.ParentID != "b0" || got.Size != 2 || got.ObjectCount != 5 || got.Metadata["k"] != "v" ||
		got.DataTimestamp == nil || !got.DataTimestamp.Equal(ts.Truncate(time.Second)) || info["x"] != 1.0 {
		t.Fatalf("decoded %+v, driver_info %v", got, info)
	}
}
