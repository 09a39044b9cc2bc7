package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/gorilla/mux"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
)

// BackupRecords is what the API needs of the backup services beside casts: the record of a
// backup (export_record), asked of the backup service on host with a call.
type BackupRecords interface {
	ExportRecord(ctx context.Context, host, backupID string) (*rpcapi.BackupRecord, error)
}

// DefaultBackupRecordTimeout bounds how long RPCBackupRecords waits for a backup service.
const DefaultBackupRecordTimeout = 60 * time.Second

// RPCBackupRecords calls export_record on a backup service over the bus.
type RPCBackupRecords struct {
	Transport rpc.Transport
	// Timeout bounds the wait for an answer (default DefaultBackupRecordTimeout).
	Timeout time.Duration
}

// ExportRecord calls export_record on the backup service of host. One that does not answer
// in time is an *wire.UnavailableError (503).
func (c *RPCBackupRecords) ExportRecord(ctx context.Context, host, backupID string) (*rpcapi.BackupRecord, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultBackupRecordTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rec rpcapi.BackupRecord
	err := c.Transport.Call(ctx, rpc.Target{Topic: rpc.TopicBackup, Server: host}, rpcapi.ExportBackupRecord, rpcapi.BackupArgs{BackupID: backupID}, &rec)
	if errors.Is(err, rpc.ErrTimeout) || errors.Is(err, rpc.ErrClosed) || errors.Is(err, context.DeadlineExceeded) {
		return nil, &wire.UnavailableError{
			Reason: fmt.Sprintf("The backup service of %s did not answer export_record within %s; check that scoria-backup is running.", host, timeout),
			Err:    err,
		}
	}
	if err != nil {
		return nil, fmt.Errorf("export_record of backup %s on %s: %w", backupID, host, err)
	}
	return &rec, nil
}

// errNoBackupRecords answers export_record of an API built without Options.BackupRecords.
var errNoBackupRecords = &wire.UnavailableError{Reason: "This API is not connected to the backup services."}

// Defaults of the wait of a restore to a new volume for that volume to leave creating.
const (
	defaultRestoreVolumeWait = 5 * time.Minute
	defaultRestoreVolumePoll = time.Second
)

// shuffle orders hosts at random, as Cinder picks among backup services.
func (s *server) shuffle(hosts []string) {
	rand.Shuffle(len(hosts), func(i, j int) { hosts[i], hosts[j] = hosts[j], hosts[i] })
}

// restoreBackup is POST /backups/{id}/restore: to volume_id, or to a new volume of the
// backup's size (named name, or restore_backup_<id>) made as POST /volumes makes one and
// waited for until it leaves creating, as Cinder's backup API waits (here bounded). Then the
// backup goes restoring, the volume restoring-backup, with the restore_backup cast to the
// backup service, in one transaction.
func (s *server) restoreBackup(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	raw, err := wire.ReadMember(r, "restore")
	if err != nil {
		return err
	}
	if f := wire.CheckType("restore", raw, "object", "null"); f != nil {
		return f
	}
	var volumeID string
	var name *string
	if o, ok := raw.(*wire.Object); ok {
		for _, k := range o.Keys {
			v := o.Vals[k]
			switch k {
			case "name":
				if f := wire.CheckNullableString("restore/name", v, 0, 255); f != nil {
					return f
				}
				if str, ok := v.(string); ok {
					name = &str
				}
			case "volume_id":
				if f := wire.CheckOptionalUUID("restore/volume_id", v); f != nil {
					return f
				}
				if str, ok := v.(string); ok {
					volumeID = str
				}
			}
		}
		if f := wire.CheckAdditional("restore", o, "name", "volume_id"); f != nil {
			return f
		}
	}
	b, err := s.getBackup(ctx, mux.Vars(r)["backup_id"])
	if err != nil {
		return err
	}
	if b.Status != resource.BackupAvailable {
		return wire.BadRequest("Invalid backup: Backup status must be available")
	}
	var vol *resource.Volume
	isNew := volumeID == ""
	if isNew {
		n := "restore_backup_" + b.ID
		if name != nil {
			n = *name
		}
		desc := "auto-created_from_restore_from_backup"
		reqctx.Log(ctx, s.log).WithFields(map[string]any{"backup_id": b.ID, "size": b.Size}).Info("creating a volume for the restore of a backup")
		if f := authorizeIn(ctx, "volume:create", reqctx.From(ctx).ProjectID); f != nil {
			return f
		}
		v, err := s.newVolume(r, &createRequest{name: &n, description: &desc, size: b.Size})
		if err != nil {
			return err
		}
		if vol, err = s.waitCreated(ctx, v.ID); err != nil {
			return err
		}
		if vol.Status == resource.StatusError {
			return wire.BadRequest("Invalid volume: Error while creating volume %s for restoring backup %s.", vol.ID, b.ID)
		}
	} else if vol, err = s.getVolume(ctx, volumeID); err != nil {
		return err
	}
	if vol.Status != resource.StatusAvailable {
		return wire.BadRequest("Invalid volume: Volume to be restored to must be available")
	}
	if b.Size > vol.Size {
		return wire.BadRequest("Invalid volume: volume size %d is too small to restore backup of size %d.", vol.Size, b.Size)
	}
	host, err := s.backupHost(ctx, b.Host, b.AvailabilityZone, false)
	if err != nil {
		return err
	}
	msg, err := rpcapi.Outbox(reqctx.From(ctx), rpc.Target{Topic: rpc.TopicBackup, Server: host}, rpcapi.RestoreBackup,
		rpcapi.RestoreBackupArgs{BackupID: b.ID, VolumeID: vol.ID, VolumeIsNew: isNew})
	if err != nil {
		return err
	}
	msgs, err := s.store.StartRestore(ctx, resource.BackupRestore{BackupID: b.ID, VolumeID: vol.ID, Host: host}, msg)
	if err != nil {
		return wire.NotFoundAs(err, "Backup", b.ID)
	}
	s.dispatch(ctx, msgs)
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"backup_id": b.ID, "volume_id": vol.ID, "host": host, "new_volume": isNew}).Info("backup restore accepted")
	wire.WriteJSON(w, http.StatusAccepted, map[string]any{"restore": map[string]any{
		"backup_id": b.ID, "volume_id": vol.ID, "volume_name": nullable(vol.Name),
	}})
	return nil
}

// waitCreated polls volume id until it leaves creating, for at most the restore wait; a
// volume still creating then is a 400 that names it (it is left to finish on its own).
func (s *server) waitCreated(ctx context.Context, id string) (*resource.Volume, error) {
	deadline := time.Now().Add(s.restoreWait)
	last := resource.StatusCreating
	for {
		v, err := s.store.GetVolume(ctx, id)
		if err != nil {
			return nil, wire.NotFoundAs(err, "Volume", id)
		}
		if v.Status != resource.StatusCreating {
			return v, nil
		}
		last = v.Status
		if !time.Now().Before(deadline) {
			return nil, wire.BadRequest("Invalid volume: Volume %s made for the restore is still %s after %s.", id, last, s.restoreWait)
		}
		t := time.NewTimer(s.restorePoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// checkVolumeBackup is Cinder's check of a volume made from a backup (3.47): the backup
// visible to the caller and available, the size at least the backup's (by default, the
// backup's).
func (s *server) checkVolumeBackup(ctx context.Context, req *createRequest) error {
	b, err := s.store.GetBackup(ctx, req.backupID)
	if err != nil {
		return wire.NotFoundAs(err, "Backup", req.backupID)
	}
	rc := reqctx.From(ctx)
	if !rc.IsAdmin && b.ProjectID != rc.ProjectID {
		return &resource.NotFoundError{Kind: "Backup", ID: b.ID}
	}
	if f := authorizeIn(ctx, policyBackupGet, b.ProjectID); f != nil {
		return f
	}
	if b.Status != resource.BackupAvailable {
		return wire.BadRequest("Invalid backup: Originating backup status must be one of '%s' values", resource.BackupAvailable)
	}
	if req.size == 0 {
		req.size = b.Size
	}
	if req.size < b.Size {
		return wire.InvalidInput("Volume size %dGB cannot be smaller than the backup size %dGB. It must be >= backup size.", req.size, b.Size)
	}
	return nil
}

// exportBackupRecord is GET /backups/{id}/export_record (admin): the record the backup's
// service makes of it, asked with a call.
func (s *server) exportBackupRecord(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	// An admin API: decided before the backup is read, as the policy matrix expects.
	if f := authorizeAdmin(r, policyBackupExport); f != nil {
		return f
	}
	b, err := s.getBackup(ctx, mux.Vars(r)["backup_id"])
	if err != nil {
		return err
	}
	if b.Status != resource.BackupAvailable {
		return wire.BadRequest("Invalid backup: Backup status must be available and not %s.", b.Status)
	}
	host, err := s.backupHost(ctx, b.Host, b.AvailabilityZone, false)
	if err != nil {
		return err
	}
	if s.records == nil {
		return errNoBackupRecords
	}
	rec, err := s.records.ExportRecord(ctx, host, b.ID)
	if err != nil {
		return err
	}
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"backup_id": b.ID, "host": host}).Info("backup record exported")
	wire.WriteJSON(w, http.StatusOK, map[string]any{"backup-record": rec})
	return nil
}

// decodeBackupRecord reads a backup_url as Cinder's Backup.decode_record, and takes what the
// import needs of it: its id and size.
func decodeBackupRecord(url string) (id string, size int, f *wire.Fault) {
	data, err := base64.StdEncoding.DecodeString(url)
	if err != nil {
		return "", 0, wire.InvalidInput("Can't decode backup record.")
	}
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(data, &rec); err != nil {
		return "", 0, wire.InvalidInput("Can't parse backup record.")
	}
	rawID, ok := rec["id"]
	if !ok {
		return "", 0, wire.InvalidInput("Provided backup record is missing an id")
	}
	rawSize, ok := rec["size"]
	if !ok {
		return "", 0, wire.InvalidInput("Provided backup record is missing size attribute")
	}
	if json.Unmarshal(rawID, &id) != nil || !wire.IsUUIDLike(id) {
		return "", 0, wire.InvalidInput("Provided backup record has an id that is not a UUID: %s", rawID)
	}
	if json.Unmarshal(rawSize, &size) != nil || size < 0 {
		return "", 0, wire.InvalidInput("Provided backup record has a size that is not a whole number of GiB: %s", rawSize)
	}
	return id, size, nil
}

// importBackupRecord is POST /backups/import_record (admin): the backup of the record,
// creating, charged to the caller's project, with the import_record cast to an up backup
// service in one transaction; 201 with the summary view.
func (s *server) importBackupRecord(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rc := reqctx.From(ctx)
	v, err := readObjectMember(r, "backup-record")
	if err != nil {
		return err
	}
	var service, url string
	for _, k := range []string{"backup_service", "backup_url"} {
		x, ok := v.Get(k)
		if !ok {
			return wire.SchemaError("backup-record", v, wire.PyStrRepr(k)+" is a required property")
		}
		if f := wire.CheckType("backup-record/"+k, x, "string"); f != nil {
			return f
		}
		if k == "backup_service" {
			service = x.(string)
			if f := wire.CheckLength("backup-record/"+k, service, 0, 255); f != nil {
				return f
			}
		} else {
			url = x.(string)
		}
	}
	if f := wire.CheckAdditional("backup-record", v, "backup_service", "backup_url"); f != nil {
		return f
	}
	if f := authorizeAdmin(r, policyBackupImport); f != nil {
		return f
	}
	hosts, err := s.backupHosts(ctx, "")
	if err != nil {
		return err
	}
	if len(hosts) == 0 {
		return wire.New(http.StatusServiceUnavailable, "Service %s could not be found.", service)
	}
	id, size, f := decodeBackupRecord(url)
	if f != nil {
		return f
	}
	b := &resource.Backup{ID: id, ProjectID: rc.ProjectID, UserID: rc.UserID, Size: size}
	msg, err := rpcapi.Outbox(rc, rpc.Target{Topic: rpc.TopicBackup, Server: hosts[0]}, rpcapi.ImportBackupRecord,
		rpcapi.ImportBackupArgs{BackupID: id, BackupService: service, BackupURL: url})
	if err != nil {
		return err
	}
	msgs, err := s.store.ImportBackup(ctx, b, msg)
	if err != nil {
		return err
	}
	s.dispatch(ctx, msgs)
	reqctx.Log(ctx, s.log).WithFields(map[string]any{"backup_id": id, "host": hosts[0], "backup_service": service}).Info("backup import accepted")
	wire.WriteJSON(w, http.StatusCreated, map[string]any{"backup": newViewer(r).backupSummary(b)})
	return nil
}

// backupAction is POST /backups/{id}/action: os-reset_status and os-force_delete (admin).
func (s *server) backupAction(w http.ResponseWriter, r *http.Request) error {
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	o, ok := body.(*wire.Object)
	if !ok || len(o.Keys) != 1 {
		return wire.BadRequest(wire.MsgMalformedBody)
	}
	name := o.Keys[0]
	args, _ := o.Get(name)
	id := mux.Vars(r)["backup_id"]
	ctx := r.Context()
	switch name {
	case "os-reset_status":
		status, f := parseBackupResetStatus(args)
		if f != nil {
			return f
		}
		deferRule(r, policyBackupResetStatus)
		if _, err := s.getBackup(ctx, id); err != nil {
			return err
		}
		if err := s.store.ResetBackupStatus(ctx, id, status); err != nil {
			return wire.NotFoundAs(err, "Backup", id)
		}
		reqctx.Log(ctx, s.log).WithFields(map[string]any{"backup_id": id, "status": status}).Info("backup status reset")
	case "os-force_delete":
		deferRule(r, policyBackupForceDelete)
		b, err := s.getBackup(ctx, id)
		if err != nil {
			return err
		}
		if err := s.deleteBackupFrom(ctx, b, true); err != nil {
			return err
		}
	default:
		return wire.BadRequest("There is no such action: %s", name)
	}
	wire.WriteAccepted(w)
	return nil
}

// parseBackupResetStatus checks os-reset_status's argument against Cinder's
// reset_status_backup schema.
func parseBackupResetStatus(args any) (string, *wire.Fault) {
	o, f := wire.RequireObject("os-reset_status", args)
	if f != nil {
		return "", f
	}
	raw, ok := o.Get("status")
	if !ok {
		return "", wire.SchemaError("os-reset_status", o, "'status' is a required property")
	}
	if f := wire.CheckType("status", raw, "string"); f != nil {
		return "", f
	}
	if f := wire.CheckAdditional("os-reset_status", o, "status"); f != nil {
		return "", f
	}
	status := strings.ToLower(raw.(string))
	if !slices.Contains(resource.BackupStatuses, status) {
		return "", wire.SchemaError("status", raw, wire.PyRepr(raw)+" is not a 'backup_status'")
	}
	return status, nil
}
