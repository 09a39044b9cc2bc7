package api

// Backups (issue 18): POST/GET /backups, GET /backups/detail, GET/PUT/DELETE /backups/{id},
// and in backups_actions.go restore, export_record, import_record and the admin actions
// (os-reset_status, os-force_delete). A backup is written together with the cast to the
// backup service that carries it out (the outbox); that service ends it through the db
// functions (FinishBackup/FailBackup, …). The backup service is chosen here as Cinder's
// backup API chooses it (backupHost).

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
)

// backupStore is what the backup endpoints need of the database.
type backupStore interface {
	CreateBackup(ctx context.Context, b *resource.Backup, opts resource.BackupCreate, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	GetBackup(ctx context.Context, id string) (*resource.Backup, error)
	ListBackups(ctx context.Context, f resource.BackupFilter) ([]*resource.Backup, error)
	CountBackups(ctx context.Context, f resource.BackupFilter) (int, error)
	UpdateBackup(ctx context.Context, id string, u resource.BackupUpdate) (*resource.Backup, error)
	StartRestore(ctx context.Context, r resource.BackupRestore, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	StartBackupDelete(ctx context.Context, d resource.BackupDelete, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	ResetBackupStatus(ctx context.Context, id, status string) error
	ImportBackup(ctx context.Context, rec *resource.Backup, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
}

// Microversions at which backups change.
var (
	mvBackupUpdate     = wire.Version{Major: 3, Minor: 9}  // PUT /backups/{id}
	mvBackupProject    = wire.Version{Major: 3, Minor: 18} // os-backup-project-attr:project_id
	mvBackupSortName   = wire.Version{Major: 3, Minor: 37} // sort by "name"
	mvBackupMetadata   = wire.Version{Major: 3, Minor: 43} // metadata on create, update and views
	mvVolumeFromBackup = wire.Version{Major: 3, Minor: 47} // POST /volumes with backup_id
	mvBackupAZ         = wire.Version{Major: 3, Minor: 51} // create: availability_zone
	mvBackupUserID     = wire.Version{Major: 3, Minor: 56} // user_id
	mvBackupKeyID      = wire.Version{Major: 3, Minor: 64} // encryption_key_id
)

// Policy rules the backup handlers decide themselves.
const (
	policyBackupGet         = "backup:get"
	policyBackupResetStatus = "volume_extension:backup_admin_actions:reset_status"
	policyBackupForceDelete = "volume_extension:backup_admin_actions:force_delete"
)

// fixedKeyID is Cinder's FIXED_KEY_ID, a key id views never show.
const fixedKeyID = "00000000-0000-0000-0000-000000000000"

// backupRoutes registers this area's routes.
func (s *server) backupRoutes(api route) {
	api("/backups", http.MethodGet, s.listBackups)
	api("/backups/detail", http.MethodGet, s.listBackupsDetail)
	api("/backups", http.MethodPost, s.createBackup)
	api("/backups/import_record", http.MethodPost, s.importBackupRecord)
	api("/backups/{backup_id}", http.MethodGet, s.showBackup)
	api("/backups/{backup_id}", http.MethodPut, s.updateBackup)
	api("/backups/{backup_id}", http.MethodDelete, s.deleteBackup)
	api("/backups/{backup_id}/restore", http.MethodPost, s.restoreBackup)
	api("/backups/{backup_id}/export_record", http.MethodGet, s.exportBackupRecord)
	api("/backups/{backup_id}/action", http.MethodPost, s.backupAction)
}

// backupSummary is Cinder's summary view of a backup (list, create, update, import).
type backupSummary struct {
	ID    string  `json:"id"`
	Name  *string `json:"name"`
	Links []link  `json:"links"`
}

// backupView is Cinder's detailed view of a backup, members in Cinder's order.
type backupView struct {
	ID                  string     `json:"id"`
	Status              string     `json:"status"`
	Size                int        `json:"size"`
	ObjectCount         int        `json:"object_count"`
	AvailabilityZone    *string    `json:"availability_zone"`
	Container           *string    `json:"container"`
	CreatedAt           timestamp  `json:"created_at"`
	UpdatedAt           *timestamp `json:"updated_at"`
	Name                *string    `json:"name"`
	Description         *string    `json:"description"`
	FailReason          *string    `json:"fail_reason"`
	VolumeID            string     `json:"volume_id"`
	Links               []link     `json:"links"`
	IsIncremental       bool       `json:"is_incremental"`
	HasDependentBackups bool       `json:"has_dependent_backups"`
	SnapshotID          *string    `json:"snapshot_id"`
	DataTimestamp       *timestamp `json:"data_timestamp"`

	Metadata        opt[map[string]string] `json:"metadata,omitzero"`                          // 3.43
	EncryptionKeyID opt[string]            `json:"encryption_key_id,omitzero"`                 // 3.64, when it has one
	ProjectID       opt[string]            `json:"os-backup-project-attr:project_id,omitzero"` // 3.18, as the rule allows
	UserID          opt[*string]           `json:"user_id,omitzero"`                           // 3.56, as the rule allows
	// Progress is Scoria's own member, shown only when the query says with_progress=true:
	// Cinder's views have no such member and tempest's schemas refuse unknown members.
	Progress opt[int] `json:"progress,omitzero"`
}

func (vw viewer) backupSummary(b *resource.Backup) backupSummary {
	return backupSummary{ID: b.ID, Name: nullable(b.Name), Links: vw.links("backups", b.ID)}
}

// backupDetail is the detailed view (show, detail list); withProgress adds "progress".
func (vw viewer) backupDetail(b *resource.Backup, withProgress bool) backupView {
	d := backupView{
		ID:                  b.ID,
		Status:              b.Status,
		Size:                b.Size,
		ObjectCount:         b.ObjectCount,
		AvailabilityZone:    nullable(b.AvailabilityZone),
		Container:           nullable(b.Container),
		CreatedAt:           timestamp(b.CreatedAt),
		UpdatedAt:           timestampPtr(b.UpdatedAt),
		Name:                nullable(b.Name),
		Description:         nullable(b.Description),
		FailReason:          nullable(b.FailReason),
		VolumeID:            b.VolumeID,
		Links:               vw.links("backups", b.ID),
		IsIncremental:       b.IsIncremental(),
		HasDependentBackups: b.HasDependentBackups(),
		SnapshotID:          nullable(b.SnapshotID),
		DataTimestamp:       timestampPtr(b.DataTimestamp),
	}
	if vw.mv.AtLeast(mvBackupMetadata) {
		md := b.Metadata
		if md == nil {
			md = map[string]string{}
		}
		d.Metadata = some(md)
	}
	if vw.mv.AtLeast(mvBackupKeyID) && b.EncryptionKeyID != "" && b.EncryptionKeyID != fixedKeyID {
		d.EncryptionKeyID = some(b.EncryptionKeyID)
	}
	if vw.mv.AtLeast(mvBackupProject) && vw.may(ruleBackupAttributes) {
		d.ProjectID = some(b.ProjectID)
	}
	if vw.mv.AtLeast(mvBackupUserID) && vw.may(ruleBackupAttributes) {
		d.UserID = some(nullable(b.UserID))
	}
	if withProgress {
		d.Progress = some(b.Progress)
	}
	return d
}

// getBackup reads a backup the caller may see and decides the endpoint's pending rule on
// it; anything else is Cinder's 404.
func (s *server) getBackup(ctx context.Context, id string) (*resource.Backup, error) {
	b, err := s.store.GetBackup(ctx, id)
	if err != nil {
		return nil, wire.NotFoundAs(err, "Backup", id)
	}
	if rc := reqctx.From(ctx); !rc.IsAdmin && b.ProjectID != rc.ProjectID {
		return nil, &resource.NotFoundError{Kind: "Backup", ID: id}
	}
	if f := decideOn(ctx, "Backup", id, b.ProjectID); f != nil {
		return nil, f
	}
	return b, nil
}

// backupHosts lists the hosts of the enabled, up backup services in zone az ("" any zone),
// shuffled as Cinder's _get_any_available_backup_service shuffles them.
func (s *server) backupHosts(ctx context.Context, az string) ([]string, error) {
	services, err := s.store.ListServices(ctx, resource.ServiceFilter{Binary: resource.BinaryBackup})
	if err != nil {
		return nil, err
	}
	now := s.now()
	var hosts []string
	for _, svc := range services {
		if !svc.Disabled && svc.Up(now, s.downTime) && (az == "" || svc.AvailabilityZone == az) {
			hosts = append(hosts, svc.Host)
		}
	}
	s.shuffle(hosts)
	return hosts, nil
}

// backupHost chooses the backup service of an operation, as Cinder's
// _get_available_backup_service_host: with backup_use_same_host, preferred (a volume's
// host, or the host that holds a backup) when a backup service runs there, up and enabled,
// in zone az; otherwise (or, when fallback, if it does not) any up, enabled service of az.
// None is Cinder's 503 "Service cinder-backup could not be found.".
func (s *server) backupHost(ctx context.Context, preferred, az string, fallback bool) (string, error) {
	hosts, err := s.backupHosts(ctx, az)
	if err != nil {
		return "", err
	}
	if preferred != "" && s.backupSameHost {
		if slices.Contains(hosts, preferred) {
			return preferred, nil
		}
		if !fallback {
			return "", wire.New(http.StatusServiceUnavailable, msgBackupServiceNotFound)
		}
	}
	if len(hosts) == 0 {
		return "", wire.New(http.StatusServiceUnavailable, msgBackupServiceNotFound)
	}
	return hosts[0], nil
}

// backupCreate is a validated POST /backups body.
type backupCreate struct {
	volumeID, snapshotID string
	name, description    *string
	container            string
	incremental, force   bool
	metadata             map[string]string
	availabilityZone     string
}

// parseBackupCreate checks a create body against Cinder's create schema of mv (create,
// create_backup_v343, create_backup_v351).
func parseBackupCreate(body *wire.Object, mv wire.Version) (*backupCreate, *wire.Fault) {
	req := &backupCreate{}
	allowed := []string{"volume_id", "container", "description", "incremental", "force", "name", "snapshot_id"}
	if mv.AtLeast(mvBackupMetadata) {
		allowed = append(allowed, "metadata")
	}
	if mv.AtLeast(mvBackupAZ) {
		allowed = append(allowed, "availability_zone")
	}
	for _, k := range body.Keys {
		v := body.Vals[k]
		field := "backup/" + k
		var f *wire.Fault
		switch k {
		case "volume_id":
			if v == nil {
				f = wire.SchemaError(field, v, "None is not valid under any of the given schemas")
			} else if f = wire.CheckOptionalUUID(field, v); f == nil {
				req.volumeID = v.(string)
			}
		case "snapshot_id":
			if f = wire.CheckOptionalUUID(field, v); f == nil && v != nil {
				req.snapshotID = v.(string)
			}
		case "container":
			if f = wire.CheckNullableString(field, v, 0, 255); f == nil && v != nil {
				req.container = v.(string)
			}
		case "name", "description":
			if f = wire.CheckNullableString(field, v, 0, 255); f == nil {
				if k == "name" {
					req.name = wire.Stripped(v)
				} else {
					req.description = wire.Stripped(v)
				}
			}
		case "incremental":
			req.incremental, f = wire.CheckOptionalBoolean(field, v)
		case "force":
			req.force, f = wire.CheckOptionalBoolean(field, v)
		case "metadata":
			if !slices.Contains(allowed, k) {
				continue
			}
			req.metadata, f = wire.CheckMetadata(field, v, true)
		case "availability_zone":
			if !slices.Contains(allowed, k) {
				continue
			}
			if f = wire.CheckType(field, v, "string", "null"); f == nil && v != nil {
				req.availabilityZone = v.(string)
			}
		}
		if f != nil {
			return nil, f
		}
	}
	if !body.Has("volume_id") {
		return nil, wire.SchemaError("backup", body, "'volume_id' is a required property")
	}
	if f := wire.CheckAdditional("backup", body, allowed...); f != nil {
		return nil, f
	}
	return req, nil
}

// createBackup is POST /backups: Cinder's checks of the volume (and snapshot), the choice of
// a backup service, then the backup row, its quota, the source's status and the
// create_backup cast to that service in one transaction.
func (s *server) createBackup(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rc := reqctx.From(ctx)
	mv := wire.VersionOf(ctx)
	raw, err := readObjectMember(r, "backup")
	if err != nil {
		return err
	}
	req, f := parseBackupCreate(raw, mv)
	if f != nil {
		return f
	}
	v, err := s.getVolume(ctx, req.volumeID)
	if err != nil {
		return err
	}
	// Cinder's checks before its quota, in its order; the transaction checks them again.
	if req.snapshotID != "" {
		sn, err := s.getSnapshot(ctx, req.snapshotID)
		if err != nil {
			return err
		}
		switch {
		case sn.VolumeID != v.ID:
			return wire.BadRequest("Invalid volume: Volume %s does not match with snapshot.volume_id %s.", v.ID, sn.VolumeID)
		case sn.Status != resource.SnapshotAvailable:
			return wire.BadRequest("Invalid snapshot: Snapshot to be backed up must be available, but the current status is \"%s\".", sn.Status)
		}
	} else {
		switch {
		case v.Status != resource.StatusAvailable && v.Status != resource.StatusInUse:
			return wire.BadRequest("Invalid volume: Volume to be backed up must be available or in-use, but the current status is \"%s\".", v.Status)
		case v.Status == resource.StatusInUse && !req.force:
			return wire.BadRequest("Invalid volume: Backing up an in-use volume must use the force flag.")
		}
	}
	az := req.availabilityZone
	if az == "" {
		az = v.AvailabilityZone
	}
	preferred := rpcapi.BackendHost(v.Host)
	if req.incremental {
		// An incremental backup of the posix driver runs where its parent's files are.
		if p := s.incrementalParent(ctx, v.ID, rc.ProjectID); p != nil && strings.Contains(p.Service, "posix") && p.Host != "" {
			preferred = p.Host
		}
	}
	host, err := s.backupHost(ctx, preferred, az, true)
	if err != nil {
		return err
	}
	b := &resource.Backup{
		ID:               uuid.NewString(),
		VolumeID:         v.ID,
		UserID:           rc.UserID,
		ProjectID:        rc.ProjectID,
		Host:             host,
		AvailabilityZone: az,
		Container:        req.container,
		SnapshotID:       req.snapshotID,
		Metadata:         req.metadata,
	}
	if req.name != nil {
		b.Name = *req.name
	}
	if req.description != nil {
		b.Description = *req.description
	}
	msg, err := rpcapi.Outbox(rc, rpc.Target{Topic: rpc.TopicBackup, Server: host}, rpcapi.CreateBackup, rpcapi.BackupArgs{BackupID: b.ID})
	if err != nil {
		return err
	}
	msgs, err := s.store.CreateBackup(ctx, b, resource.BackupCreate{Incremental: req.incremental, Force: req.force}, msg)
	if err != nil {
		return wire.NotFoundAs(err, "Volume", v.ID)
	}
	s.dispatch(ctx, msgs)
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"backup_id": b.ID, "volume_id": v.ID, "host": host,
		"incremental": req.incremental, "snapshot_id": req.snapshotID}).Info("backup create accepted")
	wire.WriteJSON(w, http.StatusAccepted, map[string]any{"backup": newViewer(r).backupSummary(b)})
	return nil
}

// incrementalParent guesses the parent the store will pick for an incremental backup (the
// volume's available backup with the latest data), to send the backup to its host; nil if
// there is none (the store then refuses the create).
func (s *server) incrementalParent(ctx context.Context, volumeID, project string) *resource.Backup {
	bs, err := s.store.ListBackups(ctx, resource.BackupFilter{ProjectID: project, VolumeID: volumeID,
		Status: resource.BackupAvailable, Limit: 1, Sort: []resource.SortKey{{Field: "data_timestamp", Desc: true}}})
	if err != nil || len(bs) == 0 {
		return nil
	}
	return bs[0]
}

// showBackup is GET /backups/{id}.
func (s *server) showBackup(w http.ResponseWriter, r *http.Request) error {
	q, f := wire.ParseQuery(r.URL.RawQuery)
	if f != nil {
		return f
	}
	withProgress, f := parseWithProgress(q)
	if f != nil {
		return f
	}
	b, err := s.getBackup(r.Context(), mux.Vars(r)["backup_id"])
	if err != nil {
		return err
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"backup": newViewer(r).backupDetail(b, withProgress)})
	return nil
}

// parseWithProgress reads with_progress, Scoria's own query parameter.
func parseWithProgress(q wire.Query) (bool, *wire.Fault) {
	v, ok := q.Get("with_progress")
	if !ok {
		return false, nil
	}
	return wire.ParseBoolParam("with_progress", v)
}

// updateBackup is PUT /backups/{id} (3.9): name and description, and metadata from 3.43
// (which replaces all of it); the answer is the summary view.
func (s *server) updateBackup(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	mv := wire.VersionOf(ctx)
	if !mv.AtLeast(mvBackupUpdate) {
		return wire.NotFound(wire.MsgResourceNotFound)
	}
	raw, err := wire.ReadMember(r, "backup")
	if err != nil {
		return err
	}
	if f := wire.CheckType("backup", raw, "object", "null"); f != nil {
		return f
	}
	var u resource.BackupUpdate
	if o, ok := raw.(*wire.Object); ok {
		allowed := []string{"name", "description"}
		if mv.AtLeast(mvBackupMetadata) {
			allowed = append(allowed, "metadata")
		}
		for _, k := range o.Keys {
			v := o.Vals[k]
			switch k {
			case "name", "description":
				if f := wire.CheckNullableString("backup/"+k, v, 0, 255); f != nil {
					return f
				}
				val := ""
				if p := wire.Stripped(v); p != nil {
					val = *p
				}
				if k == "name" {
					u.Name = &val
				} else {
					u.Description = &val
				}
			case "metadata":
				if !mv.AtLeast(mvBackupMetadata) {
					continue
				}
				md, f := wire.CheckMetadata("backup/metadata", v, false)
				if f != nil {
					return f
				}
				u.Metadata = md
			}
		}
		if f := wire.CheckAdditional("backup", o, allowed...); f != nil {
			return f
		}
	}
	id := mux.Vars(r)["backup_id"]
	if _, err := s.getBackup(ctx, id); err != nil {
		return err
	}
	b, err := s.store.UpdateBackup(ctx, id, u)
	if err != nil {
		return wire.NotFoundAs(err, "Backup", id)
	}
	reqctx.Log(ctx, s.log).WithField("backup_id", id).Info("backup updated")
	wire.WriteJSON(w, http.StatusOK, map[string]any{"backup": newViewer(r).backupSummary(b)})
	return nil
}

// deleteBackup is DELETE /backups/{id}.
func (s *server) deleteBackup(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	b, err := s.getBackup(ctx, mux.Vars(r)["backup_id"])
	if err != nil {
		return err
	}
	if err := s.deleteBackupFrom(ctx, b, false); err != nil {
		return err
	}
	wire.WriteAccepted(w)
	return nil
}

// forceDeletable are the statuses a force delete takes a backup from: all but deleted.
var forceDeletable = slices.DeleteFunc(slices.Clone(resource.BackupStatuses), func(st string) bool { return st == resource.BackupDeleted })

// deleteBackupFrom moves b to deleting with a delete_backup cast to the backup service that
// is to delete it, in one transaction, after Cinder's checks in Cinder's order: the status
// (any but deleted when force, and then only if b's driver can force a delete, as Cinder's
// check_support_to_force_delete: the chunked drivers, posix and nfs, can), its dependents,
// then the backup service.
func (s *server) deleteBackupFrom(ctx context.Context, b *resource.Backup, force bool) error {
	from := resource.BackupDeletableStatuses
	if force {
		from = forceDeletable
		if strings.Contains(strings.ToLower(b.Service), "ceph") {
			return wire.New(http.StatusMethodNotAllowed, "Operation not supported: force delete.")
		}
	}
	if !slices.Contains(from, b.Status) {
		return wire.BadRequest("Invalid backup: Backup status must be available or error")
	}
	if b.HasDependentBackups() {
		return wire.BadRequest("Invalid backup: Incremental backups exist for this backup.")
	}
	host, err := s.backupHost(ctx, b.Host, b.AvailabilityZone, false)
	if err != nil {
		return err
	}
	msg, err := rpcapi.Outbox(reqctx.From(ctx), rpc.Target{Topic: rpc.TopicBackup, Server: host}, rpcapi.DeleteBackup, rpcapi.BackupArgs{BackupID: b.ID})
	if err != nil {
		return err
	}
	msgs, err := s.store.StartBackupDelete(ctx, resource.BackupDelete{BackupID: b.ID, From: from, Host: host}, msg)
	if err != nil {
		return wire.NotFoundAs(err, "Backup", b.ID)
	}
	s.dispatch(ctx, msgs)
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"backup_id": b.ID, "host": host, "force": force}).Info("backup delete accepted")
	return nil
}

// backupFilterKeys are the backup list's filters in Cinder's default resource_filters.json,
// which a non-admin may use from 3.31 (before, others are dropped, as Cinder's
// remove_invalid_filter_options does); backupListParams are the list's other parameters.
var (
	backupFilterKeys = []string{"name", "status", "volume_id"}
	backupListParams = []string{"limit", "offset", "marker", "sort", "sort_key", "sort_dir", "all_tenants", "project_id", "with_progress"}
)

// backupListParams is what a backup list asks for.
type backupListQuery struct {
	filter       resource.BackupFilter
	empty        bool // no backup can pass (another project, or a filter on no column)
	withCount    bool
	withProgress bool
}

// parseBackupListQuery reads a backup list's query as Cinder's _get_backups does.
func (s *server) parseBackupListQuery(r *http.Request, q wire.Query) (*backupListQuery, *wire.Fault) {
	ctx := r.Context()
	rc := reqctx.From(ctx)
	mv := wire.VersionOf(ctx)
	p := &backupListQuery{}
	isParam := func(k string) bool {
		return slices.Contains(backupListParams, k) || (k == "with_count" && mv.AtLeast(mvCountInfo))
	}
	if !rc.IsAdmin && mv.AtLeast(mvResourceFilter) {
		var invalid []string
		for _, kv := range q {
			if !isParam(kv.Key) && !slices.Contains(backupFilterKeys, kv.Key) && !slices.Contains(invalid, kv.Key) {
				invalid = append(invalid, kv.Key)
			}
		}
		if len(invalid) > 0 {
			sort.Strings(invalid)
			return nil, wire.BadRequest("Invalid filters %s are found in query options.", strings.Join(invalid, ","))
		}
	}
	var f *wire.Fault
	if p.filter.Limit, f = wire.ParseLimit(q, s.maxLimit); f != nil {
		return nil, f
	}
	if p.filter.Offset, f = wire.ParseOffset(q); f != nil {
		return nil, f
	}
	p.filter.Marker, _ = q.Get("marker")
	sortName := mv.AtLeast(mvBackupSortName)
	if p.filter.Sort, f = wire.ParseSort(q, func(k string) (string, bool) {
		if k == "name" && sortName {
			return "display_name", true
		}
		return k, slices.Contains(resource.BackupFilterFields, k)
	}); f != nil {
		return nil, f
	}
	allTenants := false
	if v, ok := q.Get("all_tenants"); ok {
		if allTenants, f = wire.ParseBoolParam("all_tenants", v); f != nil {
			return nil, f
		}
	}
	project, hasProject := q.Get("project_id")
	if allTenants && rc.IsAdmin {
		p.filter.ProjectID = project
	} else {
		p.filter.ProjectID = rc.ProjectID
		p.empty = hasProject && project != rc.ProjectID
	}
	if v, ok := q.Get("with_count"); ok && mv.AtLeast(mvCountInfo) {
		if p.withCount, f = wire.ParseBoolParam("with_count", v); f != nil {
			return nil, f
		}
	}
	if p.withProgress, f = parseWithProgress(q); f != nil {
		return nil, f
	}
	for _, kv := range q {
		k := kv.Key
		switch {
		case isParam(k):
		case k == "name":
			p.filter.Name = kv.Value
		case k == "status":
			p.filter.Status = kv.Value
		case k == "volume_id":
			p.filter.VolumeID = kv.Value
		case !rc.IsAdmin:
			// Dropped, as Cinder drops a member's other filters before 3.31.
		case slices.Contains(resource.BackupFilterFields, k):
			if p.filter.Equal == nil {
				p.filter.Equal = map[string]string{}
			}
			p.filter.Equal[k] = kv.Value
		default:
			// Cinder's backup_get_all answers no backups for a filter on no column.
			p.empty = true
		}
	}
	return p, nil
}

// backupList is the body of a backup list.
type backupList struct {
	Backups []any    `json:"backups"`
	Links   []link   `json:"backups_links,omitempty"`
	Count   opt[int] `json:"count,omitzero"` // 3.45, with_count=true
}

// listBackups is GET /backups: the summary view of each backup.
func (s *server) listBackups(w http.ResponseWriter, r *http.Request) error {
	return s.backupList(w, r, false)
}

// listBackupsDetail is GET /backups/detail: the detailed view of each backup.
func (s *server) listBackupsDetail(w http.ResponseWriter, r *http.Request) error {
	return s.backupList(w, r, true)
}

func (s *server) backupList(w http.ResponseWriter, r *http.Request, detail bool) error {
	ctx := r.Context()
	q, f := wire.ParseQuery(r.URL.RawQuery)
	if f != nil {
		return f
	}
	p, f := s.parseBackupListQuery(r, q)
	if f != nil {
		return f
	}
	var backups []*resource.Backup
	if !p.empty && p.filter.Limit > 0 {
		var err error
		if backups, err = s.store.ListBackups(ctx, p.filter); err != nil {
			if errors.Is(err, resource.ErrInvalidState) {
				err = wire.InvalidInput("Invalid sort key")
			}
			return err
		}
	}
	itemCount := len(backups)
	var count opt[int]
	if p.withCount {
		total := 0
		if !p.empty {
			var err error
			if total, err = s.store.CountBackups(ctx, p.filter); err != nil {
				return err
			}
		}
		count, itemCount = some(total), total
	}
	vw := newViewer(r)
	out := backupList{Backups: make([]any, len(backups)), Count: count}
	collection := "backups"
	if detail {
		collection = "backups/detail"
	}
	for i, b := range backups {
		if detail {
			out.Backups[i] = vw.backupDetail(b, p.withProgress)
		} else {
			out.Backups[i] = vw.backupSummary(b)
		}
	}
	if len(backups) > 0 && p.filter.Limit <= itemCount {
		out.Links = vw.nextLink(collection, q, backups[len(backups)-1].ID)
	}
	wire.WriteJSON(w, http.StatusOK, out)
	return nil
}
