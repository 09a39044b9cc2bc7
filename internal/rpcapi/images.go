package rpcapi

// Methods of volumes and Glance images: API → the volume service of the backend that holds
// the volume, topic volume, server host@backend. (A volume made from an image is a
// create_volume with CreateVolumeArgs.ImageID.)
const (
	// CopyVolumeToImage asks to write a volume in uploading into the Glance image the API
	// made for it (os-volume_upload_image), then to put the volume back in its status.
	CopyVolumeToImage = "copy_volume_to_image"
	// ReimageVolume asks to write a Glance image over a volume in downloading (os-reimage).
	ReimageVolume = "reimage"
)

// CopyVolumeToImageArgs are the arguments of copy_volume_to_image: the volume, the image the
// API created (queued), its formats, and the status the volume goes back to (available or
// in-use).
type CopyVolumeToImageArgs struct {
	VolumeID        string `json:"volume_id"`
	ImageID         string `json:"image_id"`
	DiskFormat      string `json:"disk_format"`
	ContainerFormat string `json:"container_format"`
	PreviousStatus  string `json:"previous_status"`
}

// ReimageArgs are the arguments of reimage: the volume, the image written over it, and the
// status it had (available or error; Cinder's reimage_reserved for an in-use one).
type ReimageArgs struct {
	VolumeID       string `json:"volume_id"`
	ImageID        string `json:"image_id"`
	PreviousStatus string `json:"previous_status"`
}
