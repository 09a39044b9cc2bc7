package policy

// zedGaps holds Cinder Zed's rules of the features Scoria answers without having them yet
// (the API's gap stubs: backups, clusters, manageable volumes and snapshots, workers), in
// the order of cinder.policies.list_rules(), verbatim as zed's. They move into zed when the
// features land (issues 18 and 19).
var zedGaps = []Default{
	// cinder/policies/backups.py
	{Name: "backup:get_all", Check: reader, Deprecated: adminOrOwner, Help: "List backups.", Operations: []string{"GET /backups", "GET /backups/detail"}},
	{Name: "backup:backup_project_attribute", Check: adminAPI, Help: "List backups or show backup with project attributes.", Operations: []string{"GET /backups/{backup_id}", "GET /backups/detail"}},
	{Name: "backup:create", Check: member, Deprecated: anyone, Help: "Create backup.", Operations: []string{"POST /backups"}},
	{Name: "backup:get", Check: reader, Deprecated: adminOrOwner, Help: "Show backup.", Operations: []string{"GET /backups/{backup_id}"}},
	{Name: "backup:update", Check: member, Deprecated: adminOrOwner, Help: "Update backup.", Operations: []string{"PUT /backups/{backup_id}"}},
	{Name: "backup:delete", Check: member, Deprecated: adminOrOwner, Help: "Delete backup.", Operations: []string{"DELETE /backups/{backup_id}"}},
	{Name: "backup:restore", Check: member, Deprecated: adminOrOwner, Help: "Restore backup.", Operations: []string{"POST /backups/{backup_id}/restore"}},
	{Name: "backup:backup-import", Check: adminAPI, Help: "Import backup.", Operations: []string{"POST /backups/{backup_id}/import_record"}},
	{Name: "backup:export-import", Check: adminAPI, Help: "Export backup.", Operations: []string{"POST /backups/{backup_id}/export_record"}},

	// cinder/policies/backup_actions.py
	{Name: "volume_extension:backup_admin_actions:reset_status", Check: adminAPI, Help: "Reset status of a backup.", Operations: []string{"POST /backups/{backup_id}/action (os-reset_status)"}},
	{Name: "volume_extension:backup_admin_actions:force_delete", Check: adminAPI, Help: "Force delete a backup.", Operations: []string{"POST /backups/{backup_id}/action (os-force_delete)"}},

	// cinder/policies/clusters.py
	{Name: "clusters:get_all", Check: adminAPI, Help: "List clusters.", Operations: []string{"GET /clusters", "GET /clusters/detail"}},
	{Name: "clusters:get", Check: adminAPI, Help: "Show cluster.", Operations: []string{"GET /clusters/{cluster_id}"}},
	{Name: "clusters:update", Check: adminAPI, Help: "Update cluster.", Operations: []string{"PUT /clusters/{cluster_id}"}},

	// cinder/policies/manageable_snapshots.py
	{Name: "snapshot_extension:list_manageable", Check: adminAPI, Help: "List (in detail) of snapshots which are available to manage.", Operations: []string{"GET /manageable_snapshots", "GET /manageable_snapshots/detail"}},
	{Name: "snapshot_extension:snapshot_manage", Check: adminAPI, Help: "Manage an existing snapshot.", Operations: []string{"POST /manageable_snapshots"}},

	// cinder/policies/manageable_volumes.py
	{Name: "volume_extension:list_manageable", Check: adminAPI, Help: "List (in detail) of volumes which are available to manage.", Operations: []string{"GET /manageable_volumes", "GET /manageable_volumes/detail"}},
	{Name: "volume_extension:volume_manage", Check: adminAPI, Help: "Manage existing volumes.", Operations: []string{"POST /manageable_volumes"}},
	{Name: "volume_extension:volume_unmanage", Check: adminAPI, Help: "Stop managing a volume.", Operations: []string{"POST /volumes/{volume_id}/action (os-unmanage)"}},

	// cinder/policies/workers.py
	{Name: "workers:cleanup", Check: adminAPI, Help: "Clean up workers.", Operations: []string{"POST /workers/cleanup"}},
}
