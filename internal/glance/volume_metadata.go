package glance

import (
	"encoding/json"
	"strconv"
)

// VolumeImageMetadata is what Cinder keeps of an image with a volume made from it (its
// volume_glance_metadata, shown as volume_image_metadata): every custom property that is not
// null, then image_id, image_name (when the image has a name) and the base attributes
// checksum, container_format, disk_format, min_disk, min_ram and size where the image has
// them, which win over properties of the same name (volume_utils.get_volume_image_metadata).
func VolumeImageMetadata(img *Image) map[string]string {
	md := make(map[string]string, len(img.Properties)+8)
	for k, v := range img.Properties {
		if s, ok := propertyString(v); ok {
			md[k] = s
		}
	}
	md["image_id"] = img.ID
	if img.Name != "" {
		md["image_name"] = img.Name
	}
	if img.Checksum != "" {
		md["checksum"] = img.Checksum
	}
	if img.ContainerFormat != "" {
		md["container_format"] = img.ContainerFormat
	}
	if img.DiskFormat != "" {
		md["disk_format"] = img.DiskFormat
	}
	md["min_disk"] = strconv.Itoa(img.MinDisk)
	md["min_ram"] = strconv.Itoa(img.MinRAM)
	if img.Size != nil {
		md["size"] = strconv.FormatInt(*img.Size, 10)
	}
	return md
}

// propertyString is a property's value as the metadata keeps it: a string as it is, other
// JSON values in JSON (true, 3, ["a"]); false for null.
func propertyString(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", false
	case string:
		return v, true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false
	}
	return string(b), true
}
