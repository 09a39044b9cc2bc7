package chunked

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"
)

func ptr(s string) *string { return &s }

// The metadata and sha256file encode byte for byte as Python's json.dumps(sort_keys=True,
// indent=2) wrote the golden files (testdata/README.md), and read back unchanged.
func TestGoldenEncoding(t *testing.T) {
	prefix := "volume_c1a3e2f0-1b2c-4d5e-8f90-123456789abc_20261207222015_backup_2b9f5e43-6f0d-4c5e-9b7e-0c6f3a1d2e77"
	created := PythonTime(time.Date(2026, 12, 7, 22, 20, 15, 123456000, time.UTC))
	tests := []struct {
		file  string
		value any
		into  func() any
	}{
		{"cinder_metadata.json", &Metadata{
			BackupID:   "2b9f5e43-6f0d-4c5e-9b7e-0c6f3a1d2e77",
			BackupName: ptr("nightly – café"),
			CreatedAt:  created,
			Objects: []ObjectEntry{
				{Name: ObjectName(prefix, 1), Object: Object{Compression: "zlib", Length: 65536, MD5: "fcd6bcb56c1689fcef28b57c22475bad", Offset: 0}},
				{Name: ObjectName(prefix, 2), Object: Object{Compression: "none", Length: 1234, MD5: "0f343b0931126a20f133d67c2b018a3b", Offset: 65536}},
			},
			ParentID:   ptr("a8e0c1d2-3b4f-4a5b-9c6d-7e8f90a1b2c3"),
			Version:    FormatVersion,
			VolumeID:   "c1a3e2f0-1b2c-4d5e-8f90-123456789abc",
			VolumeMeta: ptr(`{"version": 2, "volume-base-metadata": {"name": "v<1>&"}}`),
		}, func() any { return &Metadata{} }},
		{"cinder_sha256file.json", &SHA256File{
			BackupID:   "2b9f5e43-6f0d-4c5e-9b7e-0c6f3a1d2e77",
			BackupName: ptr("nightly – café"),
			ChunkSize:  32768,
			CreatedAt:  created,
			SHA256s:    []string{string(bytes.Repeat([]byte("a"), 64)), string(bytes.Repeat([]byte("b"), 64))},
			Version:    FormatVersion,
			VolumeID:   "c1a3e2f0-1b2c-4d5e-8f90-123456789abc",
		}, func() any { return &SHA256File{} }},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			golden, err := os.ReadFile("testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := encodePython(tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, golden) {
				t.Fatalf("encoding differs from Cinder's:\n--- got\n%s\n--- want\n%s", got, golden)
			}
			back := tc.into()
			if err := json.Unmarshal(golden, back); err != nil {
				t.Fatal(err)
			}
			again, err := encodePython(back)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, golden) {
				t.Fatalf("read and written again differs:\n%s", again)
			}
		})
	}
}

func TestPythonTime(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "2026-01-02 03:04:05+00:00"},
		{time.Date(2026, 1, 2, 3, 4, 5, 1000, time.UTC), "2026-01-02 03:04:05.000001+00:00"},
		{time.Date(2026, 1, 2, 4, 4, 5, 500, time.FixedZone("x", 3600)), "2026-01-02 03:04:05+00:00"},
	} {
		if got := PythonTime(tc.t); got != tc.want {
			t.Errorf("PythonTime(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

func TestAsciiEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain": "plain", "é": `\u00e9`, "–": `\u2013`, "😀": `\ud83d\ude00`, "<&>": "<&>",
	} {
		got, err := encodePython(in)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != `"`+want+`"` {
			t.Errorf("encodePython(%q) = %s, want %q", in, got, want)
		}
	}
}
