// Package resource holds Scoria's domain objects — volumes, services, volume types, group
// types (with their list filter and update), outbox messages, the driver's provider data of
// volumes and snapshots, image-volume cache entries, backups (backup.go) — with their status
// names and the sentinel errors every layer maps to API faults.
package resource

import (
	"errors"
	"fmt"
	"time"
)

// Volume statuses, as Cinder names them.
const (
	StatusCreating         = "creating"
	StatusAvailable        = "available"
	StatusDeleting         = "deleting"
	StatusError            = "error"
	StatusErrorDeleting    = "error_deleting"
	StatusInUse            = "in-use"
	StatusAttaching        = "attaching"
	StatusDetaching        = "detaching"
	StatusReserved         = "reserved"
	StatusExtending        = "extending"
	StatusErrorExtending   = "error_extending"
	StatusErrorRestoring   = "error_restoring"
	StatusErrorManaging    = "error_managing"
	StatusReverting        = "reverting"
	StatusRetyping         = "retyping"
	StatusMaintenance      = "maintenance"
	StatusAwaitingTransfer = "awaiting-transfer"
	StatusDeleted          = "deleted"
	// StatusDownloading is a volume whose storage is being written from a Glance image
	// (create from an image, os-reimage); StatusUploading one being copied to an image
	// (os-volume_upload_image), which goes back to available or in-use after.
	StatusDownloading = "downloading"
	StatusUploading   = "uploading"
)

// Attach statuses.
const (
	AttachDetached = "detached"
	AttachAttached = "attached"
)

// DeletableStatuses are the statuses from which Cinder lets a volume be deleted (without force).
var DeletableStatuses = []string{
	StatusAvailable, StatusError, StatusErrorRestoring, StatusErrorExtending, StatusErrorManaging,
}

// Volume is one volume row with its metadata.
type Volume struct {
	ID               string
	ProjectID        string
	UserID           string
	Name             string
	Description      string
	Size             int
	Status           string
	AttachStatus     string
	AvailabilityZone string
	Host             string // host@backend#pool once scheduled, "" before
	VolumeTypeID     string
	VolumeTypeName   string // filled by reads that join volume_types
	Bootable         bool
	Multiattach      bool
	SnapshotID       string // the snapshot it was created from, "" if none
	SourceVolID      string // the volume it was cloned from, "" if none
	GroupID          string // the generic group it belongs to, "" if none
	EncryptionKeyID  string // its key in the key manager when its type is encrypted, "" if none
	// Provider is what its backend's driver returned when it made the volume (zero before).
	Provider ProviderData
	Metadata map[string]string
	// ImageMetadata, on a create from an image, is the image's properties as the volume's
	// image metadata (volume_glance_metadata, shown as volume_image_metadata): CreateVolume
	// writes it with the row. Reads leave it nil (VolumeMetadata reads it).
	ImageMetadata map[string]string
	CreatedAt     time.Time
	UpdatedAt     *time.Time
	DeletedAt     *time.Time
	// View is what the volume's detailed view shows beside its row, read in the same
	// statement by reads that serve that view (GetVolumeForView); nil when not read.
	View *VolumeViewData
}

// VolumeViewData is what a volume's detailed view shows that its row does not hold.
type VolumeViewData struct {
	AdminMetadata  map[string]string // the keys of VisibleAdminMetadataKeys only
	GlanceMetadata map[string]string
	Attachments    []*Attachment // the attached ones, oldest first, with the fields the view shows
}

// Binaries as stored in the services table.
const (
	BinaryScheduler = "scoria-scheduler"
	BinaryVolume    = "scoria-volume"
	BinaryBackup    = "scoria-backup"
)

// Service is one registered service: a scheduler, or one backend of a volume daemon.
type Service struct {
	ID               int64
	Binary           string // scoria-scheduler, scoria-volume, scoria-backup (cinder-* names are shown to clients)
	Host             string // host, or host@backend for volume services
	Topic            string
	AvailabilityZone string
	Disabled         bool
	DisabledReason   string
	ReportCount      int64
	CreatedAt        time.Time
	UpdatedAt        *time.Time
}

// Up reports whether the service's last heartbeat is within downTime of now.
func (s *Service) Up(now time.Time, downTime time.Duration) bool {
	last := s.CreatedAt
	if s.UpdatedAt != nil {
		last = *s.UpdatedAt
	}
	return now.Sub(last) <= downTime
}

// OutboxMessage is an RPC cast written in the same transaction as the row change that
// causes it, so a request the API accepted is delivered even if the broker was down.
type OutboxMessage struct {
	ID        int64
	Topic     string
	Server    string
	Method    string
	Args      []byte // JSON
	Context   []byte // JSON of reqctx.Context
	CreatedAt time.Time
}

// Sentinel errors. Wrap them with %w; the API maps them to faults in one place.
var (
	ErrNotFound     = errors.New("not found")
	ErrInvalidState = errors.New("invalid state")
	ErrConflict     = errors.New("conflict")
)

// InvalidStateError says which status an object had when an operation needed another.
type InvalidStateError struct {
	Kind, ID, Status string
	Want             []string
}

func (e *InvalidStateError) Error() string {
	return fmt.Sprintf("%s %s is in status %q, must be one of %v", e.Kind, e.ID, e.Status, e.Want)
}

// Unwrap makes errors.Is(err, ErrInvalidState) true.
func (e *InvalidStateError) Unwrap() error { return ErrInvalidState }

// NotFoundError names the kind and id of a missing object.
type NotFoundError struct{ Kind, ID string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %s could not be found.", e.Kind, e.ID) }

// Unwrap makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// VolumeFilter selects volumes for a list: every condition set must hold. Without Sort,
// results are ordered newest first (created_at DESC, id DESC); Marker is the id of the last
// volume of the previous page.
type VolumeFilter struct {
	ProjectID string // "" lists every project's volumes
	Name      string
	Status    string
	Limit     int // 0 means no limit
	Offset    int // volumes skipped after the marker (or from the first)
	Marker    string

	// Equal holds exact matches on volume fields, by Cinder's column name: id, display_name,
	// display_description, status, attach_status, size, availability_zone, host, user_id,
	// volume_type_id, bootable, multiattach, snapshot_id, source_volid ("true"/"false" for the
	// booleans). Like holds substring matches (case-insensitive) on the same fields.
	Equal map[string]string
	Like  map[string]string
	// Metadata is matched against the user metadata and the visible admin metadata (as
	// Cinder's "metadata" filter), GlanceMetadata against the image metadata.
	Metadata       map[string]string
	GlanceMetadata map[string]string
	// VolumeType matches the id or the name of the volume's type.
	VolumeType string
	// Times are comparisons of created_at or updated_at.
	Times []TimeFilter
	// Sort orders the result by these keys (the fields of Equal, created_at, updated_at);
	// created_at and id are added after them in the first key's direction, as Cinder does.
	Sort []SortKey
}

// TimeFilter compares a volume's created_at or updated_at with At; Op is one of gt, gte,
// lt, lte, eq, neq.
type TimeFilter struct {
	Field, Op string
	At        time.Time
}

// SortKey is one key of a list's order.
type SortKey struct {
	Field string
	Desc  bool
}

// VolumeUpdate is a user's change to a volume; nil fields stay as they are. A non-nil
// Metadata replaces all of the volume's metadata.
type VolumeUpdate struct {
	Name        *string
	Description *string
	Metadata    map[string]string
}

// VolumeChange is one conditional status change (UPDATE … WHERE id = ? AND status IN (…)).
type VolumeChange struct {
	Status        string  // the new status
	Host          *string // set host too, when non-nil
	WhereHostNull bool    // additionally require that no host is set yet
	// Message, when non-nil, is a user message written in the same transaction if, and only
	// if, the change wins (a create that failed for good, and why).
	Message *Message
	// Provider, when non-nil, sets the volume's provider data too, all three columns (the
	// create that made the storage: what the driver returned, zero fields as NULL).
	Provider *ProviderData
	// Bootable, when non-nil, sets the volume's bootable flag too.
	Bootable *bool
	// ImageMetadata, when non-nil, replaces the volume's image metadata (volume_glance_metadata)
	// in the same transaction: a re-image that finished.
	ImageMetadata map[string]string
	// AdminMetadata sets (non-nil value) or removes (nil value) keys of the volume's admin
	// metadata in the same transaction, e.g. the Glance image an upload writes, so that a
	// recovery finds it.
	AdminMetadata map[string]*string
}

// ProviderData is a driver's own data about one of its volumes or snapshots, kept with the
// row: Cinder's provider_location, provider_auth and provider_id columns. The volume service
// maps it to and from the driver's Data; no API view shows it (provider_id aside, for admins
// from 3.21, as Cinder), and admins may filter volume lists by its location and id.
type ProviderData struct {
	Location string // provider_location
	Auth     string // provider_auth
	ID       string // provider_id
}

// IsZero reports whether p holds nothing.
func (p ProviderData) IsZero() bool { return p == ProviderData{} }

// PoolCapacity is what a pool's last capability report says of the capacity a claim may
// take: the figures of Cinder's CapacityFilter, max_over_subscription_ratio resolved as the
// scheduler resolves it ('auto', the default of 20, 1 for a thick pool).
type PoolCapacity struct {
	Name    string // host@backend#pool
	Backend string // host@backend
	// TotalGB is total_capacity_gb; nil means the pool sets no limit (free or total
	// 'infinite'/'unknown', as the CapacityFilter passes them).
	TotalGB            *float64
	ReservedPercentage float64
	// Ratio is max_over_subscription_ratio; NaN (a ratio that is not a number) lets no thin
	// claim through, as the CapacityFilter rejects such a pool.
	Ratio      float64
	Thin       bool      // thin_provisioning_support
	ReportedAt time.Time // when the backend reported it
	// Operations is the optional operations (Op*) the pool's backend supports, from its
	// CapSupportedOperations capability; nil when unknown (a report from an older service).
	Operations []string
	// Down is a report with backend_state 'down': the backend cannot reach its storage. Its
	// capacity is unknown, so the figures above are not recorded (the last good ones stay),
	// and the pool takes no claim until a report says up again.
	Down bool
}

// Pool is a pool's row in the claims table.
type Pool struct {
	PoolCapacity
	AllocatedGB int64 // the sum of the claims of the volumes placed on it
}

// Claim asks to place a creating volume on a pool and claim its size there, in one
// transaction: the pool's claim only if the pool still has room, the volume's host only if
// the volume is still creating on FromHost (no host when FromHost is ""); a retry moves the
// claim from FromHost's pool to Pool.
type Claim struct {
	VolumeID string
	FromHost string // the host the volume has now; "" for a first placement
	Pool     string // host@backend#pool
	Size     int    // GiB
	// Thick is a request for thick provisioning (provisioning:type=thick): a thin pool then
	// counts it as the CapacityFilter does, against total − reserved.
	Thick bool
}

// ClaimResult is the outcome of a claim that found the volume still to be placed.
type ClaimResult struct {
	Claimed bool
	// When not claimed: what the pool had (AllocatedGB) and could hold (LimitGB) at the
	// time, for the sentence that says why; NoPool when the pool has no row (never reported);
	// Down when its backend's last report says it is down (PoolCapacity.Down).
	AllocatedGB, LimitGB float64
	NoPool, Down         bool
}

// ServiceFilter selects services; empty fields match all.
type ServiceFilter struct {
	Binary string
	Host   string
}
