package rpcapi

import "github.com/scoria/scoria/pkg/driver"

// Methods of attach and detach: calls API → the volume service of the volume's backend.
const (
	// InitializeConnection exports the volume to the connector's host (creating its target
	// when the backend needs one) and answers the connection info (ConnectionReply).
	InitializeConnection = "initialize_connection"
	// TerminateConnection ends the connector's access; with RemoveExport (the volume's last
	// attachment is gone) the volume's target is removed too.
	TerminateConnection = "terminate_connection"
)

// ConnectionArgs are the arguments of initialize_connection and terminate_connection.
type ConnectionArgs struct {
	VolumeID     string           `json:"volume_id"`
	AttachmentID string           `json:"attachment_id,omitempty"`
	Connector    driver.Connector `json:"connector,omitempty"`
	// AccessMode is "rw" or "ro" (a read-only volume, or an attachment asked ro from 3.54).
	AccessMode string `json:"access_mode,omitempty"`
	// RemoveExport asks terminate_connection to remove the volume's target as well.
	RemoveExport bool `json:"remove_export,omitempty"`
}

// ConnectionReply is the answer of initialize_connection.
type ConnectionReply struct {
	ConnectionInfo driver.ConnectionInfo `json:"connection_info"`
}
