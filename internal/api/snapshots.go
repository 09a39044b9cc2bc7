package api

// Snapshots.

// snapshotStore is what this area needs of the database.
type snapshotStore interface{}

// snapshotRoutes registers this area's routes.
func (s *server) snapshotRoutes(api route) {}

// snapshotVolumeActions lists this area's actions of POST /volumes/{id}/action.
func (s *server) snapshotVolumeActions() map[string]volumeAction { return nil }
