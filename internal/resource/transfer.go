package resource

import "time"

// Transfer is an offer to give a volume (and, unless NoSnapshots, its snapshots) to whichever
// project accepts it with the auth key. The key itself is shown once, at creation
// (AuthKey); the store keeps only a salted hash of it.
type Transfer struct {
	ID                   string
	VolumeID             string
	Name                 string
	SourceProjectID      string
	DestinationProjectID string
	Accepted             bool
	NoSnapshots          bool
	AuthKey              string // set only on the transfer CreateTransfer returns
	CreatedAt            time.Time
	UpdatedAt            *time.Time
	DeletedAt            *time.Time
}

// TransferFilter selects transfers; ProjectID "" is every project.
type TransferFilter struct {
	ProjectID string
	Name      string
	VolumeID  string
}

// InvalidAuthKeyError refuses an accept whose auth key does not match.
type InvalidAuthKeyError struct{ TransferID string }

// Error words it as Cinder's InvalidAuthKey.
func (e *InvalidAuthKeyError) Error() string {
	return "Invalid auth key: Attempt to transfer " + e.TransferID + " with invalid auth key."
}

// SnapshotStateError names the snapshot that keeps a volume from being transferred.
type SnapshotStateError struct{ SnapshotID string }

// Error words it as Cinder's InvalidSnapshot reason.
func (e *SnapshotStateError) Error() string {
	return "snapshot: " + e.SnapshotID + " status must be available"
}
