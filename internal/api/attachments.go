package api

// Attachments (3.27+) and the legacy attach actions (os-reserve, os-initialize_connection,
// os-attach, os-begin_detaching, os-detach, os-terminate_connection, …).

// attachmentStore is what this area needs of the database.
type attachmentStore interface{}

// attachmentRoutes registers this area's routes.
func (s *server) attachmentRoutes(api route) {}

// attachVolumeActions lists this area's actions of POST /volumes/{id}/action.
func (s *server) attachVolumeActions() map[string]volumeAction { return nil }
