package api

import "github.com/scoria/scoria/internal/api/wire"

// The microversions this API serves. A client asks for one with
// "OpenStack-API-Version: volume 3.X" (or the legacy "X-OpenStack-Volume-API-Version: 3.X");
// no header means MinVersion, "latest" means MaxVersion.
//
// MaxVersion is what Scoria advertises: every step up to it that changes an endpoint Scoria
// serves is implemented as Cinder does it, and no step answers a routing 404 for the feature
// it introduced (TestMicroversionWalk sends each step's requests). A feature Scoria does not
// have yet is a stub in gaps.go, listed in the README: its list is empty in Cinder's shape,
// a show is Cinder's itemNotFound, a create or action is Cinder's answer without the service
// that would do the work or 400 "… is not supported by Scoria yet"; its
// version gate and policy rules are Cinder's. "stub (issue N)" below names the issue that
// replaces it. Each step:
//
//	3.0   base API                                               served; its os-volume-manage,
//	                                                             os-snapshot-manage and migration volume
//	                                                             actions are stubs (issue 19); imageRef takes
//	                                                             image ids (not names); os-volume_upload_image served
//	3.1   os-volume_upload_image: visibility, protected          served (upload_public for public)
//	3.2   strict "bootable" list filter                          served (lenient before 3.2, as Cinder)
//	3.3   GET/DELETE /messages (user messages)                   served
//	3.4   "glance_metadata" list filter                          served (image metadata: os-set_image_metadata)
//	3.5   messages list: limit, marker, sort, filters            served (resource_uuid, resource_type, event_id,
//	                                                             request_id, message_level; others 400)
//	3.6   group update with empty name/description               served (groups; consistency groups' update too)
//	3.7   os-services "cluster" field; /clusters                 null (no clusters); /clusters stub (issue 19): empty
//	                                                             list, show/enable/disable 404 "Cluster X could not be found."
//	3.8   GET /manageable_volumes, /manageable_snapshots         stub (issue 19): host required, empty list (Cinder's base
//	                                                             driver's answer); manage 400 not supported yet
//	3.9   backup update                                          served
//	3.10  "group_id" list filter                                 served
//	3.11  group types                                            served (group specs; default_group_type; 404 below)
//	3.12  GET /volumes/summary                                   served
//	3.13  groups; volume "group_id" field, create into a group   served (the scheduler places a group; groups quota)
//	3.14  group snapshots; snapshot "group_snapshot_id"          served (consistent where the driver can: RBD);
//	                                                             group create-from-src served
//	3.15  volume metadata Etag; If-Match on metadata PUTs        served (412 on a mismatch, empty body as Cinder)
//	3.16  migrate to a cluster                                   stub (issue 19): os-migrate_volume 400 not supported yet
//	3.17  manageable lists by cluster                            stub (issue 19): cluster accepted, no cluster is found (404)
//	3.18  backup "project_id"                                    served
//	3.19  group snapshot reset_status                            served (admin)
//	3.20  group reset_status                                     served (admin)
//	3.21  volume "provider_id" field (admin)                     null
//	3.22  snapshot list "metadata" filter                        served
//	3.23  DELETE /volumes/{id}?force=true                        served (admin)
//	3.24  workers cleanup                                        stub (issue 19): 400 not supported yet (services recover
//	                                                             their own transitional resources at start)
//	3.25  group list_volume                                      served
//	3.26  group failover                                         replication actions answer Cinder's 400 (no group type
//	                                                             is replication-enabled: Scoria replicates nothing)
//	3.27  attachments API                                        served
//	3.28  get_pools filters (name, any capability)               served
//	3.29  group snapshots pagination                             served (filters, sort, limit/marker/offset)
//	3.30  snapshot list sort by "name"                           served
//	3.31  resource filters: a non-admin's unknown list filter 400  served for volumes and snapshots (below:
//	                                                             dropped); get_pools: known filters only,
//	                                                             plus Scoria's "backend"
//	3.32  os-services set-log / get-log                          served for the API's logger (cinder-api, "*");
//	                                                             scheduler/volume services' levels 400 (issue 19)
//	3.33  GET /resource_filters                                  served (volume, pool)
//	3.34  "name~" style LIKE filters                             served (admins, members as resource_filters allow; % and _ match themselves)
//	3.35  get_pools "volume_type" filter                         served
//	3.36  summary "metadata"                                     served
//	3.37  backups sort by "name"                                 served
//	3.38  group replication                                      as 3.26; replication_status shown
//	3.39  GET /limits?project_id= (admin)                        served
//	3.40  revert to snapshot                                     served
//	3.41  snapshot "user_id"                                     served
//	3.42  os-extend of an in-use volume                          served
//	3.43  backup metadata                                        served
//	3.44  attachment complete (os-complete)                      served
//	3.45  ?with_count=true → "count"                             served (volumes, snapshots, backups)
//	3.46  create from a Nova image of size 0                     served: made from its boot volume snapshot
//	3.47  create accepts backup_id                               served (scoria-backup restores into the new volume)
//	3.48  volume "shared_targets", "service_uuid"                true (Cinder's default, makes os-brick lock), null
//	3.49  os-services: volume "backend_state"                    the scheduler's pools' backend_state ("down" when the
//	                                                             backend cannot reach its storage), null without pools;
//	                                                             no scheduler in 3 s: "up" for an up, enabled service
//	3.50  multiattach volumes                                    served (flag and type extra spec)
//	3.51  backup availability zone                               served
//	3.52  GET /types "extra_specs" filter                        served (members: user-visible specs, else an empty
//	                                                             list; other member filters 400)
//	3.53  strict create/update schemas                           served
//	3.54  attachment "mode" (rw, ro)                             served
//	3.55  volume-transfers API, no_snapshots                     served
//	3.56  backup "user_id"                                       served
//	3.57  transfer destination/source project, accepted          served
//	3.58  group and group snapshot "project_id"                  served (admins)
//	3.59  transfers list: limit, marker, offset, sort, filters   served (volume-transfers)
//	3.60  created_at/updated_at comparison filters               served
//	3.61  volume "cluster_name" (admin)                          null
//	3.62  default volume types API                               served
//	3.63  volume "volume_type_id"                                served
//	3.64  "encryption_key_id" when encrypted                     served (volume type encryption, Barbican keys)
//	3.65  volume "consumes_quota"; filter of that name           true; filter served (every volume consumes quota)
//	3.66  snapshot of an in-use volume without force             served
//	3.67  URLs without a project id                              served (at every version, as in Cinder)
//	3.68  reimage                                                served (a Nova snapshot image or an encrypted volume:
//	                                                             400 not supported yet)
//	3.69  "shared_targets" may be null                           never null (always true)
//	3.70  transfer of encrypted volumes                          gap: an encrypted volume's transfer is refused at
//	                                                             every version, as Cinder before 3.70 (key hand-over
//	                                                             to the new owner not done yet)
const (
	MinVersion = "3.0"
	MaxVersion = "3.70"
	// GatedVersion is the highest microversion whose changes to the served endpoints the
	// handlers implement (see the table above); tests exercise it with Options.maxVersion.
	GatedVersion = "3.70"
)

// gatedVersion is GatedVersion parsed.
var gatedVersion = wire.MustParseVersion(GatedVersion)

// Microversions at which a served endpoint changes.
var (
	mvClusterSupport      = wire.Version{Major: 3, Minor: 7}
	mvVolumeSummary       = wire.Version{Major: 3, Minor: 12}
	mvGroupVolume         = wire.Version{Major: 3, Minor: 13}
	mvProviderID          = wire.Version{Major: 3, Minor: 21}
	mvDeleteForce         = wire.Version{Major: 3, Minor: 23}
	mvPoolFilter          = wire.Version{Major: 3, Minor: 28}
	mvResourceFilter      = wire.Version{Major: 3, Minor: 31}
	mvPoolTypeFilter      = wire.Version{Major: 3, Minor: 35}
	mvSummaryMetadata     = wire.Version{Major: 3, Minor: 36}
	mvCountInfo           = wire.Version{Major: 3, Minor: 45}
	mvCreateFromBackup    = wire.Version{Major: 3, Minor: 47}
	mvSharedTargets       = wire.Version{Major: 3, Minor: 48}
	mvBackendState        = wire.Version{Major: 3, Minor: 49}
	mvVolumeSchemaChanges = wire.Version{Major: 3, Minor: 53}
	mvVolumeClusterName   = wire.Version{Major: 3, Minor: 61}
	mvVolumeTypeID        = wire.Version{Major: 3, Minor: 63}
	mvConsumesQuota       = wire.Version{Major: 3, Minor: 65}
)
