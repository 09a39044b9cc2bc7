package glance

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Image statuses of the Image API v2.
const (
	StatusQueued      = "queued"
	StatusSaving      = "saving"
	StatusActive      = "active"
	StatusKilled      = "killed"
	StatusDeleted     = "deleted"
	StatusDeactivated = "deactivated"
	StatusUploading   = "uploading"
	StatusImporting   = "importing"
)

// Location is one place Glance keeps an image's data (shown with show_multiple_locations),
// e.g. rbd://<fsid>/<pool>/<image>/snap for an RBD store.
type Location struct {
	URL      string         `json:"url"`
	Metadata map[string]any `json:"metadata"`
}

// Image is an image record. The fields are Glance's base properties; Properties holds every
// other key (custom properties and those of schema-image.json such as hw_disk_bus), which is
// the split Cinder's _translate_from_glance makes with Glance's schema.
type Image struct {
	ID              string     `json:"id"`
	Name            string     `json:"name"`
	Status          string     `json:"status"`
	Visibility      string     `json:"visibility"`
	Protected       bool       `json:"protected"`
	Hidden          bool       `json:"os_hidden"`
	Owner           string     `json:"owner"`
	DiskFormat      string     `json:"disk_format"`
	ContainerFormat string     `json:"container_format"`
	Size            *int64     `json:"size"`         // nil until the data is uploaded
	VirtualSize     *int64     `json:"virtual_size"` // nil when Glance does not know it
	MinDisk         int        `json:"min_disk"`     // GiB
	MinRAM          int        `json:"min_ram"`      // MiB
	Checksum        string     `json:"checksum"`     // MD5 of the data
	HashAlgo        string     `json:"os_hash_algo"` // e.g. sha512
	HashValue       string     `json:"os_hash_value"`
	Tags            []string   `json:"tags"`
	Stores          string     `json:"stores"`     // comma-separated store ids (multi-store)
	DirectURL       string     `json:"direct_url"` // with show_image_direct_url
	Locations       []Location `json:"locations"`  // with show_multiple_locations
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	// Properties are the keys that are not base properties, as Glance sent them (strings for
	// properties set through the API).
	Properties map[string]any `json:"-"`
}

// baseProperties are the keys of Glance's image schema that are not custom properties.
var baseProperties = map[string]bool{
	"id": true, "name": true, "status": true, "visibility": true, "protected": true,
	"os_hidden": true, "owner": true, "disk_format": true, "container_format": true,
	"size": true, "virtual_size": true, "min_disk": true, "min_ram": true, "checksum": true,
	"os_hash_algo": true, "os_hash_value": true, "tags": true, "stores": true,
	"direct_url": true, "locations": true, "created_at": true, "updated_at": true,
	"self": true, "file": true, "schema": true,
}

// UnmarshalJSON reads the base fields and puts every other key in Properties.
func (im *Image) UnmarshalJSON(b []byte) error {
	type plain Image
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("image record: %w", err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return fmt.Errorf("image record: %w", err)
	}
	p.Properties = map[string]any{}
	for k, raw := range all {
		if baseProperties[k] {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("image record: property %s: %w", k, err)
		}
		p.Properties[k] = v
	}
	*im = Image(p)
	return nil
}

// CreateRequest is the record of a new image (POST /v2/images). Properties are sent as
// top-level keys, as the Image API v2 wants them; they must not name a base property.
type CreateRequest struct {
	ID              string // optional: the id to give the image
	Name            string
	DiskFormat      string // raw, qcow2, vmdk, vdi, vhd, vhdx, iso, ploop, aki, ari, ami
	ContainerFormat string // bare, ovf, ova, docker, compressed, aki, ari, ami
	Visibility      string // "" (Glance's default, shared), private, public, community, shared
	Protected       *bool
	MinDisk         int
	MinRAM          int
	Tags            []string
	Properties      map[string]string
}

func (r CreateRequest) body() (map[string]any, error) {
	b := map[string]any{}
	for k, v := range r.Properties {
		if baseProperties[k] {
			return nil, fmt.Errorf("property %q is a base property of the image: %w", k, ErrInvalid)
		}
		b[k] = v
	}
	set := func(k string, v string) {
		if v != "" {
			b[k] = v
		}
	}
	set("id", r.ID)
	set("name", r.Name)
	set("disk_format", r.DiskFormat)
	set("container_format", r.ContainerFormat)
	set("visibility", r.Visibility)
	if r.Protected != nil {
		b["protected"] = *r.Protected
	}
	if r.MinDisk != 0 {
		b["min_disk"] = r.MinDisk
	}
	if r.MinRAM != 0 {
		b["min_ram"] = r.MinRAM
	}
	if r.Tags != nil {
		b["tags"] = r.Tags
	}
	return b, nil
}

// Patch is one operation of a JSON patch of an image (PATCH /v2/images/{id}, media type
// application/openstack-images-v2.1-json-patch): Op is add, replace or remove; Path is
// "/<key>" (SetProperty and RemoveProperty make them).
type Patch struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// SetProperty is the patch that sets a key (add creates or replaces in the Image API v2).
func SetProperty(key string, value any) Patch {
	return Patch{Op: "add", Path: pointer(key), Value: value}
}

// RemoveProperty is the patch that removes a custom property.
func RemoveProperty(key string) Patch { return Patch{Op: "remove", Path: pointer(key)} }

// pointer is the JSON pointer (RFC 6901) of a top-level key.
func pointer(key string) string {
	return "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(key)
}
