package api

// Volume metadata, admin actions and the other volume endpoints.

// volumeExtraStore is what this area needs of the database.
type volumeExtraStore interface{}

// volumeExtraRoutes registers this area's routes.
func (s *server) volumeExtraRoutes(api route) {}

// extraVolumeActions lists this area's actions of POST /volumes/{id}/action.
func (s *server) extraVolumeActions() map[string]volumeAction { return nil }
