package chunked

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// FormatVersion is the only version of the chunked format (Cinder's DRIVER_VERSION);
// Restore refuses any other, as Cinder's DRIVER_VERSION_MAPPING does.
const FormatVersion = "1.0.0"

// Suffixes of a backup's two JSON objects, after its object prefix.
const (
	metadataSuffix = "_metadata"
	sha256Suffix   = "_sha256file"
)

// MetadataName is the name of a backup's metadata object: "<prefix>_metadata".
func MetadataName(prefix string) string { return prefix + metadataSuffix }

// SHA256FileName is the name of a backup's sha256 object: "<prefix>_sha256file".
func SHA256FileName(prefix string) string { return prefix + sha256Suffix }

// ObjectName is the name of a backup's data object number id (from 1):
// "<prefix>-00001", as Cinder's _backup_chunk.
func ObjectName(prefix string, id int) string { return fmt.Sprintf("%s-%05d", prefix, id) }

// isDataObject tells whether name is one of prefix's data objects (prefix, a dash and
// at least five digits).
func isDataObject(prefix, name string) bool {
	rest, ok := strings.CutPrefix(name, prefix+"-")
	if !ok || len(rest) < 5 {
		return false
	}
	for _, r := range rest {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Object describes one data object of a backup: where its bytes go in the volume, how
// many there are (uncompressed), how they are compressed and their md5 (uncompressed).
// Fields are in Cinder's key order (sorted).
type Object struct {
	Compression string `json:"compression"`
	Length      int64  `json:"length"`
	MD5         string `json:"md5"`
	Offset      int64  `json:"offset"`
}

// ObjectEntry is one element of the metadata's "objects": a one-key JSON object,
// {"<object name>": {...}}.
type ObjectEntry struct {
	Name string
	Object
}

// MarshalJSON writes the entry as Cinder's one-key object.
func (e ObjectEntry) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]Object{e.Name: e.Object})
}

// UnmarshalJSON reads a one-key object.
func (e *ObjectEntry) UnmarshalJSON(b []byte) error {
	var m map[string]Object
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if len(m) != 1 {
		return fmt.Errorf("an entry of objects has %d keys, not 1", len(m))
	}
	for name, o := range m {
		e.Name, e.Object = name, o
	}
	return nil
}

// Metadata is a backup's `<prefix>_metadata` object, in Cinder's keys (sorted, as
// json.dumps(sort_keys=True) writes them). Its presence is what makes a backup complete.
type Metadata struct {
	BackupDescription *string `json:"backup_description"`
	BackupID          string  `json:"backup_id"`
	BackupName        *string `json:"backup_name"`
	// CreatedAt is Python's str() of the backup's created_at, e.g.
	// "2026-12-07 22:20:15.123456+00:00".
	CreatedAt string `json:"created_at"`
	// ExtraMetadata is a driver's get_extra_metadata, written only when not null.
	ExtraMetadata json.RawMessage `json:"extra_metadata,omitempty"`
	Objects       []ObjectEntry   `json:"objects"`
	ParentID      *string         `json:"parent_id"`
	Version       string          `json:"version"`
	VolumeID      string          `json:"volume_id"`
	// VolumeMeta is the volume's metadata as Cinder's BackupMetadataAPI serialises it:
	// a JSON document in a string, or null.
	VolumeMeta *string `json:"volume_meta"`
}

// SHA256File is a backup's `<prefix>_sha256file` object: the sha256 of every block of
// the volume (ChunkSize bytes each, the last one shorter), which the next incremental
// backup compares against.
type SHA256File struct {
	BackupDescription *string  `json:"backup_description"`
	BackupID          string   `json:"backup_id"`
	BackupName        *string  `json:"backup_name"`
	ChunkSize         int64    `json:"chunk_size"`
	CreatedAt         string   `json:"created_at"`
	SHA256s           []string `json:"sha256s"`
	Version           string   `json:"version"`
	VolumeID          string   `json:"volume_id"`
}

// PythonTime formats t as Cinder writes created_at (str() of a UTC-aware datetime):
// "2006-01-02 15:04:05[.ffffff]+00:00", microseconds only when not zero.
func PythonTime(t time.Time) string {
	t = t.UTC()
	s := t.Format("2006-01-02 15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	return s + "+00:00"
}

// encodePython encodes v as Python's json.dumps(v, sort_keys=True, indent=2) does for
// the shapes of this package (keys already in sorted order): two-space indentation,
// ", " never at line ends, ": " after keys, no HTML escaping and every non-ASCII
// character as a \uXXXX escape (ensure_ascii).
func encodePython(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return asciiEscape(out), nil
}

// asciiEscape replaces every non-ASCII character (they occur only inside JSON strings)
// with its \uXXXX escape, surrogate pairs beyond the basic plane, lower-case hex.
func asciiEscape(b []byte) []byte {
	if !bytes.ContainsFunc(b, func(r rune) bool { return r >= utf8.RuneSelf }) {
		return b
	}
	var out bytes.Buffer
	out.Grow(len(b) + 16)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case r < utf8.RuneSelf:
			out.WriteByte(byte(r))
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&out, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
	}
	return out.Bytes()
}
