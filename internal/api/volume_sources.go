package api

// Volumes made from other volumes and snapshots, and changes of a volume's size and type:
// create with snapshot_id / source_volid, os-extend, os-retype.

// volumeSourceStore is what this area needs of the database.
type volumeSourceStore interface{}

// sourceVolumeActions lists this area's actions of POST /volumes/{id}/action.
func (s *server) sourceVolumeActions() map[string]volumeAction { return nil }
