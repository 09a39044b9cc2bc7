package glance

import (
	"maps"
	"testing"
)

func TestVolumeImageMetadata(t *testing.T) {
	size := int64(1048576)
	tests := []struct {
		name string
		img  Image
		want map[string]string
	}{
		{"full", Image{ID: "i1", Name: "cirros", Checksum: "abc", ContainerFormat: "bare", DiskFormat: "qcow2",
			MinDisk: 1, MinRAM: 64, Size: &size,
			Properties: map[string]any{"hw_disk_bus": "scsi", "os_distro": "cirros", "gone": nil, "n": float64(3), "size": "spoof"}},
			map[string]string{"image_id": "i1", "image_name": "cirros", "checksum": "abc", "container_format": "bare",
				"disk_format": "qcow2", "min_disk": "1", "min_ram": "64", "size": "1048576",
				"hw_disk_bus": "scsi", "os_distro": "cirros", "n": "3"}},
		{"queued without data or name", Image{ID: "i2", DiskFormat: "raw"},
			map[string]string{"image_id": "i2", "disk_format": "raw", "min_disk": "0", "min_ram": "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VolumeImageMetadata(&tt.img); !maps.Equal(got, tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}
