package resource

// MetadataKind names one of a volume's sets of key/value metadata.
type MetadataKind string

// A volume's metadata sets: what users set (metadata), what admins set (readonly,
// attached_mode; Cinder's admin metadata), and its image's properties (glance metadata).
const (
	UserMetadata   MetadataKind = "user"
	AdminMetadata  MetadataKind = "admin"
	GlanceMetadata MetadataKind = "glance"
)

// VisibleAdminMetadataKeys are the admin metadata keys Cinder shows among a volume's metadata.
var VisibleAdminMetadataKeys = []string{"readonly", "attached_mode"}

// AdminKeyUploadImage is the admin metadata key that holds the Glance image a volume in
// uploading is written to: set by the API in the transaction that starts the upload, removed
// by the update that ends it, so that the volume service (and its recovery after a restart)
// finds the image.
const AdminKeyUploadImage = "scoria_upload_image_id"

// VolumeStatusRule says in which statuses a change to a volume is allowed: one of Only (when
// set), and none of Not. A volume in another status gives a *InvalidStateError.
type VolumeStatusRule struct {
	Only []string
	Not  []string
}

// VolumeReset is an admin's reset of a volume's state (os-reset_status); empty fields stay.
type VolumeReset struct {
	Status       string
	AttachStatus string
}
