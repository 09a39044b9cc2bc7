package resource

// AttachmentFilter selects attachments for a list: every condition set must hold. Results
// are ordered newest first (created_at DESC, id DESC) unless SortKey says otherwise; Marker
// is the id of the last attachment of the previous page.
type AttachmentFilter struct {
	ProjectID    string // "" lists every project's attachments
	VolumeID     string
	InstanceUUID string
	AttachStatus string
	Limit        int // 0 means no limit
	Offset       int
	Marker       string
	// SortKey is one of id, created_at, updated_at, attach_status, volume_id, instance_uuid
	// (default created_at); SortDesc orders it descending.
	SortKey  string
	SortDesc bool
}

// LiveAttachStatuses are the statuses of an attachment that still holds its volume.
var LiveAttachStatuses = []string{AttachReserved, AttachAttaching, AttachAttached, AttachDetaching, AttachErrorAttaching, AttachErrorDetaching}

// PendingAttachStatuses are the statuses of an attachment that a client has begun and not
// finished; the attachment sweeper resolves those left too long.
var PendingAttachStatuses = []string{AttachReserved, AttachAttaching, AttachDetaching}

// AttachableStatuses are the volume statuses in which its attachments may change.
var AttachableStatuses = []string{StatusAvailable, StatusReserved, StatusAttaching, StatusInUse, StatusDetaching}

// AttachmentConnection is what an attachment update (or os-initialize_connection) records:
// the host's connector, the connection info the volume service answered (in the flat form
// Cinder's attachment API shows: the data's keys with driver_volume_type and attachment_id)
// and the access mode.
type AttachmentConnection struct {
	Connector      map[string]any
	ConnectionInfo map[string]any
	Mode           string // "rw" or "ro"; "" keeps the attachment's
	Host           string // the connector's host; "" keeps the attachment's
}

// AttachmentAttach is what marking an attachment attached records besides its status;
// empty fields keep what the attachment has.
type AttachmentAttach struct {
	InstanceUUID string
	Host         string
	Mountpoint   string
	Mode         string
}
