package resource

import "time"

// Attachment statuses (Cinder's fields.VolumeAttachStatus), also a volume's attach_status.
const (
	AttachReserved       = "reserved"
	AttachAttaching      = "attaching"
	AttachDetaching      = "detaching"
	AttachErrorAttaching = "error_attaching"
	AttachErrorDetaching = "error_detaching"
	AttachDeleted        = "deleted"
)

// Attachment is one attachment of a volume to a host (Cinder's volume_attachment row).
type Attachment struct {
	ID             string
	VolumeID       string
	ProjectID      string // the volume's project when the attachment was made
	InstanceUUID   string
	AttachedHost   string
	Mountpoint     string
	AttachStatus   string // reserved, attaching, attached, detaching, detached, error_*
	AttachMode     string // "rw" or "ro"
	Connector      map[string]any
	ConnectionInfo map[string]any
	AttachTime     *time.Time
	DetachTime     *time.Time
	CreatedAt      time.Time
	UpdatedAt      *time.Time
}
