package resource

import "time"

// Message is a user message (Cinder's messages API): an event a user should see about one of
// their resources, such as a volume that no backend could take. Its text is
// "<action>:<detail>" from Cinder's action and detail ids; Detail, when set, is Scoria's own
// sentence and replaces the stock text of DetailID.
type Message struct {
	ID           string
	ProjectID    string
	RequestID    string
	ResourceType string // "VOLUME"
	ResourceUUID string
	EventID      string // VOLUME_<resource>_<action>_<detail>, as Cinder forms it
	Level        string // "ERROR"
	ActionID     string // "001": schedule allocate volume
	DetailID     string // "003": no available weighted backend
	Detail       string
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// Resource types of user messages (cinder/message/message_field.py Resource).
const (
	MessageResourceVolume   = "VOLUME"
	MessageResourceSnapshot = "VOLUME_SNAPSHOT"
	MessageResourceBackup   = "VOLUME_BACKUP"
)

// Message levels.
const MessageLevelError = "ERROR"

// Cinder's action ids (message_field.Action).
const (
	ActionUnknown                 = "000"
	ActionScheduleAllocateVolume  = "001"
	ActionAttachVolume            = "002"
	ActionCopyVolumeToImage       = "003"
	ActionUpdateAttachment        = "004"
	ActionCopyImageToVolume       = "005"
	ActionUnmanageVolume          = "006"
	ActionExtendVolume            = "007"
	ActionCreateVolumeFromBackend = "008"
	ActionSnapshotCreate          = "009"
	ActionSnapshotDelete          = "010"
	ActionSnapshotUpdate          = "011"
	ActionSnapshotMetadataUpdate  = "012"
	ActionBackupCreate            = "013"
	ActionBackupDelete            = "014"
	ActionBackupRestore           = "015"
	ActionReimageVolume           = "016"
)

// Cinder's detail ids (message_field.Detail).
const (
	DetailUnknownError                 = "001"
	DetailDriverNotInitialized         = "002"
	DetailNoBackendAvailable           = "003"
	DetailFailedToUploadVolume         = "004"
	DetailVolumeAttachModeInvalid      = "005"
	DetailQuotaExceed                  = "006"
	DetailNotEnoughSpaceForImage       = "007"
	DetailUnmanageEncNotSupported      = "008"
	DetailNotifyComputeServiceFailed   = "009"
	DetailDriverFailedExtend           = "010"
	DetailSignatureVerificationFailed  = "011"
	DetailDriverFailedCreate           = "012"
	DetailSnapshotCreateError          = "013"
	DetailSnapshotUpdateMetadataFailed = "014"
	DetailSnapshotIsBusy               = "015"
	DetailSnapshotDeleteError          = "016"
	DetailAttachError                  = "021"
	DetailDetachError                  = "022"
	DetailVolumeInvalidState           = "027"
)

// MessageActions and MessageDetails are the stock texts of Cinder's action and detail ids.
var (
	MessageActions = map[string]string{
		ActionUnknown:                 "unknown action",
		ActionScheduleAllocateVolume:  "schedule allocate volume",
		ActionAttachVolume:            "attach volume",
		ActionCopyVolumeToImage:       "copy volume to image",
		ActionUpdateAttachment:        "update attachment",
		ActionCopyImageToVolume:       "copy image to volume",
		ActionUnmanageVolume:          "unmanage volume",
		ActionExtendVolume:            "extend volume",
		ActionCreateVolumeFromBackend: "create volume from backend storage",
		ActionSnapshotCreate:          "create snapshot",
		ActionSnapshotDelete:          "delete snapshot",
		ActionSnapshotUpdate:          "update snapshot",
		ActionSnapshotMetadataUpdate:  "update snapshot metadata",
		ActionBackupCreate:            "create backup",
		ActionBackupDelete:            "delete backup",
		ActionBackupRestore:           "restore backup",
		ActionReimageVolume:           "reimage volume",
	}
	MessageDetails = map[string]string{
		DetailUnknownError:                 "An unknown error occurred.",
		DetailDriverNotInitialized:         "Driver is not initialized at present.",
		DetailNoBackendAvailable:           "Could not find any available weighted backend.",
		DetailFailedToUploadVolume:         "Failed to upload volume to image at backend.",
		DetailVolumeAttachModeInvalid:      "Volume's attach mode is invalid.",
		DetailQuotaExceed:                  "Not enough quota resource for operation.",
		DetailNotEnoughSpaceForImage:       "Image used for creating volume exceeds available space.",
		DetailUnmanageEncNotSupported:      "Unmanaging encrypted volumes is not supported.",
		DetailNotifyComputeServiceFailed:   "Compute service failed to extend volume.",
		DetailDriverFailedExtend:           "Volume Driver failed to extend volume.",
		DetailSignatureVerificationFailed:  "Image signature verification failed.",
		DetailDriverFailedCreate:           "Driver failed to create the volume.",
		DetailSnapshotCreateError:          "Snapshot failed to create.",
		DetailSnapshotUpdateMetadataFailed: "Volume snapshot update metadata failed.",
		DetailSnapshotIsBusy:               "Snapshot is busy.",
		DetailSnapshotDeleteError:          "Snapshot failed to delete.",
		DetailAttachError:                  "Failed to attach volume.",
		DetailDetachError:                  "Failed to detach volume.",
		DetailVolumeInvalidState:           "Volume status is invalid.",
	}
)

// UserMessage is the message's text as Cinder's API shows it: "<action>:<detail>", with
// Scoria's own Detail sentence in place of the stock detail text when there is one.
func (m *Message) UserMessage() string {
	action, ok := MessageActions[m.ActionID]
	if !ok {
		action = "unknown action"
	}
	detail := m.Detail
	if detail == "" {
		if detail, ok = MessageDetails[m.DetailID]; !ok {
			detail = MessageDetails[DetailUnknownError]
		}
	}
	return action + ":" + detail
}

// MessageFilter selects user messages for a list, newest first (created_at DESC, id DESC);
// Marker is the id of the last message of the previous page.
type MessageFilter struct {
	ProjectID string // "" lists every project's messages
	// Fields are exact-match filters by column: resource_uuid, resource_type, event_id,
	// request_id, message_level.
	Fields map[string]string
	Limit  int // 0 means no limit
	Marker string
}
