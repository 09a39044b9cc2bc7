package api

import (
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// The features Scoria advertises (every one is at or below MaxVersion) but does not have
// yet. Each answers what is true instead of the router's 404, so that a client that probes
// (Horizon, cinderclient, openstackclient) gets an answer it handles: a list is empty in
// Cinder's shape, a show is Cinder's itemNotFound for that resource, and a create or an
// action is Cinder's answer when the service that would do the work is absent or a 400 "… is not supported by Scoria yet". Policy rules
// are Cinder's wherever a request reaches one. Each stub names the issue that replaces it.

// Microversions of the gap features.
var (
	mvManageExisting        = wire.Version{Major: 3, Minor: 8}
	mvManageExistingCluster = wire.Version{Major: 3, Minor: 17}
	mvReplicationCluster    = wire.Version{Major: 3, Minor: 26}
	mvWorkersCleanup        = wire.Version{Major: 3, Minor: 24}
	mvLogLevel              = wire.Version{Major: 3, Minor: 32}
)

// gapRoutes registers the stubs of the missing features.
func (s *server) gapRoutes(api route) {
	// Issue 19: clusters, manageable volumes and snapshots, workers, services' log levels.
	api("/clusters", http.MethodGet, s.listClusters)
	api("/clusters/detail", http.MethodGet, s.listClusters)
	api("/clusters/{cluster}", http.MethodGet, s.showCluster)
	api("/clusters/{cluster}", http.MethodPut, s.updateCluster)
	api("/manageable_volumes", http.MethodGet, s.listManageable("volume", true))
	api("/manageable_volumes/detail", http.MethodGet, s.listManageable("volume", true))
	api("/manageable_volumes", http.MethodPost, s.manageExisting("volume", true))
	api("/manageable_snapshots", http.MethodGet, s.listManageable("snapshot", true))
	api("/manageable_snapshots/detail", http.MethodGet, s.listManageable("snapshot", true))
	api("/manageable_snapshots", http.MethodPost, s.manageExisting("snapshot", true))
	api("/os-volume-manage", http.MethodGet, s.listManageable("volume", false))
	api("/os-volume-manage/detail", http.MethodGet, s.listManageable("volume", false))
	api("/os-volume-manage", http.MethodPost, s.manageExisting("volume", false))
	api("/os-snapshot-manage", http.MethodGet, s.listManageable("snapshot", false))
	api("/os-snapshot-manage/detail", http.MethodGet, s.listManageable("snapshot", false))
	api("/os-snapshot-manage", http.MethodPost, s.manageExisting("snapshot", false))
	api("/workers/cleanup", http.MethodPost, s.cleanupWorkers)
	api("/os-services/{action}", http.MethodPut, s.updateService)
}

// Policy rules of the gap endpoints that handlers decide (admin APIs and the rules decided
// on a loaded volume).
const (
	policyBackupImport        = "backup:backup-import"
	policyBackupExport        = "backup:export-import"
	policyClustersGetAll      = "clusters:get_all"
	policyClustersGet         = "clusters:get"
	policyClustersUpdate      = "clusters:update"
	policyVolumeListManage    = "volume_extension:list_manageable"
	policyVolumeManage        = "volume_extension:volume_manage"
	policySnapshotListManage  = "snapshot_extension:list_manageable"
	policySnapshotManage      = "snapshot_extension:snapshot_manage"
	policyWorkersCleanup      = "workers:cleanup"
	policyServicesUpdate      = "volume_extension:services:update"
	policyMigrateVolume       = "volume_extension:volume_admin_actions:migrate_volume"
	policyMigrateCompletion   = "volume_extension:volume_admin_actions:migrate_volume_completion"
	policyVolumeUnmanage      = "volume_extension:volume_unmanage"
	msgBackupServiceNotFound  = "Service cinder-backup could not be found."
	msgNotSupportedYet        = "%s is not supported by Scoria yet."
	cinderBackupBinaryName    = "cinder-backup"
	cinderAPIBinaryName       = "cinder-api"
	cinderVolumeBinaryName    = "cinder-volume"
	cinderSchedulerBinaryName = "cinder-scheduler"
)

// readObjectMember reads a {"<member>": {…}} body whose member must be an object.
func readObjectMember(r *http.Request, member string) (*wire.Object, error) {
	v, err := wire.ReadMember(r, member)
	if err != nil {
		return nil, err
	}
	o, f := wire.RequireObject(member, v)
	if f != nil {
		return nil, f
	}
	return o, nil
}

// clusterListFilters are the filters Cinder's cluster list accepts; clusterReplicationFilters
// only from 3.26.
var (
	clusterListFilters        = []string{"name", "binary", "is_up", "disabled", "num_hosts", "num_down_hosts"}
	clusterReplicationFilters = []string{"replication_status", "frozen", "active_backend_id"}
)

// listClusters is GET /clusters and /clusters/detail (3.7, issue 19): Scoria's services
// belong to no cluster (os-services shows "cluster": null), so the list is empty.
func (s *server) listClusters(w http.ResponseWriter, r *http.Request) error {
	mv := wire.VersionOf(r.Context())
	if !mv.AtLeast(mvClusterSupport) {
		return wire.NotFound(wire.MsgResourceNotFound)
	}
	if f := authorizeAdmin(r, policyClustersGetAll); f != nil {
		return f
	}
	q, f := wire.ParseQuery(r.URL.RawQuery)
	if f != nil {
		return f
	}
	allowed := clusterListFilters
	if mv.AtLeast(mvReplicationCluster) {
		allowed = append(append([]string{}, allowed...), clusterReplicationFilters...)
	}
	var invalid []string
	for _, p := range q {
		if !slices.Contains(allowed, p.Key) && !slices.Contains(invalid, p.Key) {
			invalid = append(invalid, p.Key)
		}
	}
	if len(invalid) > 0 {
		return wire.InvalidInput("Invalid filter keys: %s", strings.Join(invalid, ", "))
	}
	for _, k := range []string{"disabled", "is_up"} {
		if v, ok := q.Get(k); ok {
			if _, f := wire.ParseBoolParam(k, v); f != nil {
				return f
			}
		}
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"clusters": []any{}})
	return nil
}

// showCluster is GET /clusters/{name} (3.7): no cluster exists.
func (s *server) showCluster(w http.ResponseWriter, r *http.Request) error {
	if !wire.VersionOf(r.Context()).AtLeast(mvClusterSupport) {
		return wire.NotFound(wire.MsgResourceNotFound)
	}
	if f := authorizeAdmin(r, policyClustersGet); f != nil {
		return f
	}
	return clusterNotFound(cinderVolumeBinaryName, mux.Vars(r)["cluster"])
}

// clusterNotFound is Cinder's ClusterNotFound of a lookup by binary and name, which names the
// cluster by its filters as Python prints them.
func clusterNotFound(binary, name string) *wire.Fault {
	return wire.NotFound("Cluster {'binary': %s, 'name': %s} could not be found.", wire.PyStrRepr(binary), wire.PyStrRepr(name))
}

// updateCluster is PUT /clusters/enable and /clusters/disable (3.7): the body names a
// cluster (and optionally its binary), which does not exist.
func (s *server) updateCluster(w http.ResponseWriter, r *http.Request) error {
	if !wire.VersionOf(r.Context()).AtLeast(mvClusterSupport) {
		return wire.NotFound(wire.MsgResourceNotFound)
	}
	if f := authorizeAdmin(r, policyClustersUpdate); f != nil {
		return f
	}
	action := mux.Vars(r)["cluster"]
	if action != "enable" && action != "disable" {
		return wire.NotFound("Unknown action")
	}
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	o, f := wire.RequireObject("", body)
	if f != nil {
		return f
	}
	name, ok := o.Get("name")
	if !ok {
		return wire.SchemaError("", body, "'name' is a required property")
	}
	if f := wire.CheckType("name", name, "string"); f != nil {
		return f
	}
	binary := cinderVolumeBinaryName
	if b, ok := o.Get("binary"); ok {
		if f := wire.CheckType("binary", b, "string"); f != nil {
			return f
		}
		binary = b.(string)
	}
	return clusterNotFound(binary, name.(string))
}

// manageableSortKeys are the sort keys Cinder's manageable lists accept (it sorts them itself).
var manageableSortKeys = []string{"reference", "size"}

// listManageable serves the lists of what a backend holds that Scoria does not manage (issue
// 19): GET /manageable_volumes|snapshots[/detail] from 3.8 (v3) and the older
// /os-volume-manage, /os-snapshot-manage. As Cinder, it wants one of host and cluster
// (cluster from 3.17), checks the sort, and finds the host's volume service; the answer is
// what Cinder's base driver answers: nothing to manage.
func (s *server) listManageable(kind string, v3 bool) wire.HandlerFunc {
	rule, key := policyVolumeListManage, "manageable-volumes"
	if kind == "snapshot" {
		rule, key = policySnapshotListManage, "manageable-snapshots"
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		mv := wire.VersionOf(ctx)
		if v3 && !mv.AtLeast(mvManageExisting) {
			return wire.NotFound(wire.MsgResourceNotFound)
		}
		if f := authorizeAdmin(r, rule); f != nil {
			return f
		}
		q, f := wire.ParseQuery(r.URL.RawQuery)
		if f != nil {
			return f
		}
		host, _ := q.Get("host")
		cluster := ""
		msg := "Host field is missing."
		if mv.AtLeast(mvManageExistingCluster) {
			cluster, _ = q.Get("cluster")
			msg = "One and only one of cluster and host must be set."
		}
		if (host == "") == (cluster == "") {
			return wire.InvalidInput("%s", msg)
		}
		if _, f := wire.ParseLimit(q, s.maxLimit); f != nil {
			return f
		}
		if _, f := wire.ParseOffset(q); f != nil {
			return f
		}
		if f := checkManageableSort(q); f != nil {
			return f
		}
		if cluster != "" {
			return wire.NotFound("Service %s could not be found.", cinderVolumeBinaryName)
		}
		backend, _, _ := strings.Cut(host, "#")
		services, err := s.store.ListServices(ctx, resource.ServiceFilter{Binary: resource.BinaryVolume, Host: backend})
		if err != nil {
			return err
		}
		if len(services) == 0 {
			return wire.NotFound("Service %s could not be found on host %s.", cinderVolumeBinaryName, backend)
		}
		wire.WriteJSON(w, http.StatusOK, map[string]any{key: []any{}})
		return nil
	}
}

// checkManageableSort is Cinder's check of a manageable list's sort keys and directions.
func checkManageableSort(q wire.Query) *wire.Fault {
	var keys, dirs []string
	if v, ok := q.Get("sort"); ok {
		for _, part := range strings.Split(v, ",") {
			k, d, _ := strings.Cut(strings.TrimSpace(part), ":")
			keys = append(keys, strings.TrimSpace(k))
			if d != "" {
				dirs = append(dirs, strings.TrimSpace(d))
			}
		}
	}
	if v, ok := q.Get("sort_key"); ok {
		keys = append(keys, v)
	}
	if v, ok := q.Get("sort_dir"); ok {
		dirs = append(dirs, v)
	}
	var badKeys, badDirs []string
	for _, k := range keys {
		if !slices.Contains(manageableSortKeys, k) {
			badKeys = append(badKeys, k)
		}
	}
	for _, d := range dirs {
		if d != "asc" && d != "desc" {
			badDirs = append(badDirs, d)
		}
	}
	switch {
	case len(badKeys) > 0:
		return wire.BadRequest("Invalid sort keys passed: %s", strings.Join(badKeys, ", "))
	case len(badDirs) > 0:
		return wire.BadRequest("Invalid sort dirs passed: %s", strings.Join(badDirs, ", "))
	}
	return nil
}

// manageExisting is POST /manageable_volumes|snapshots (3.8) and /os-volume-manage,
// /os-snapshot-manage (issue 19): admins only; Scoria cannot take over storage it did not
// create yet.
func (s *server) manageExisting(kind string, v3 bool) wire.HandlerFunc {
	rule, member, what := policyVolumeManage, "volume", "Managing an existing volume"
	if kind == "snapshot" {
		rule, member, what = policySnapshotManage, "snapshot", "Managing an existing snapshot"
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		if v3 && !wire.VersionOf(r.Context()).AtLeast(mvManageExisting) {
			return wire.NotFound(wire.MsgResourceNotFound)
		}
		if f := authorizeAdmin(r, rule); f != nil {
			return f
		}
		if _, err := readObjectMember(r, member); err != nil {
			return err
		}
		return wire.BadRequest(msgNotSupportedYet, what)
	}
}

// cleanupWorkers is POST /workers/cleanup (3.24, issue 19): Scoria's services clean up what a
// crash left in a transitional status themselves, at start; there is no cleanup to order.
func (s *server) cleanupWorkers(w http.ResponseWriter, r *http.Request) error {
	if !wire.VersionOf(r.Context()).AtLeast(mvWorkersCleanup) {
		return wire.NotFound(wire.MsgResourceNotFound)
	}
	if f := authorizeAdmin(r, policyWorkersCleanup); f != nil {
		return f
	}
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	if body != nil {
		if _, f := wire.RequireObject("", body); f != nil {
			return f
		}
	}
	return wire.BadRequest(msgNotSupportedYet+" Its services recover their own transitional resources when they start.", "Cleaning up workers (workers/cleanup)")
}

// updateService is PUT /os-services/{action}. set-log and get-log (3.32) are served for the
// API service's own logger (binary cinder-api, or "*"/none): the logger of the process that
// answers (as Cinder's API worker), which in the all-in-one scoria process is also its
// scheduler's and volume services' logger. The levels of the separate scheduler and
// volume services (over RPC in Cinder) are issue 19, as are enable, disable, freeze, thaw
// and failover. Other actions are Cinder's "Unknown action".
func (s *server) updateService(w http.ResponseWriter, r *http.Request) error {
	if f := authorizeAdmin(r, policyServicesUpdate); f != nil {
		return f
	}
	action := mux.Vars(r)["action"]
	mv := wire.VersionOf(r.Context())
	switch {
	case (action == "set-log" || action == "get-log") && mv.AtLeast(mvLogLevel):
		return s.serviceLogLevels(w, r, action == "set-log")
	case action == "enable", action == "disable", action == "disable-log-reason", action == "freeze",
		action == "thaw", action == "failover_host", action == "failover" && mv.AtLeast(mvReplicationCluster):
		return wire.BadRequest(msgNotSupportedYet, "os-services "+action)
	default:
		return wire.InvalidInput("Unknown action")
	}
}

// logBinaries are the binaries Cinder's set-log and get-log accept.
var logBinaries = []string{"", "*", cinderSchedulerBinaryName, cinderVolumeBinaryName, cinderBackupBinaryName, cinderAPIBinaryName}

// logLevels are Cinder's log levels (utils.LOG_LEVELS), by name, as logrus levels.
var logLevels = map[string]logrus.Level{
	"DEBUG": logrus.DebugLevel, "INFO": logrus.InfoLevel, "WARNING": logrus.WarnLevel, "ERROR": logrus.ErrorLevel,
}

// apiLoggerName is the name get-log shows for the API's logger (Cinder shows Python logger
// names, "cinder.api…"); a prefix selects it as Cinder's prefix selects loggers.
const apiLoggerName = "scoria.api"

// serviceLogLevels is set-log (set) or get-log on the API's logger.
func (s *server) serviceLogLevels(w http.ResponseWriter, r *http.Request, set bool) error {
	body, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	o, f := wire.RequireObject("", body)
	if f != nil {
		return f
	}
	allowed := []string{"binary", "server", "prefix"}
	if set {
		allowed = append(allowed, "level")
	}
	if f := wire.CheckAdditional("", o, allowed...); f != nil {
		return f
	}
	str := map[string]string{}
	for _, k := range allowed {
		v, ok := o.Get(k)
		if !ok || v == nil && k != "binary" {
			continue
		}
		sv, isStr := v.(string)
		if !isStr || k == "binary" && !slices.Contains(logBinaries, sv) {
			msg := wire.PyRepr(v) + " is not of type 'string', 'null'"
			if k == "binary" {
				msg = wire.PyRepr(v) + " is not one of " + wire.PyReprList(logBinaries)
			}
			return wire.SchemaError(k, v, msg)
		}
		str[k] = sv
	}
	var level logrus.Level
	if set {
		var ok bool
		if level, ok = logLevels[strings.ToUpper(str["level"])]; !ok {
			return wire.InvalidInput("%s is not a valid log level.", str["level"])
		}
	}
	switch str["binary"] {
	case cinderSchedulerBinaryName, cinderVolumeBinaryName, cinderBackupBinaryName:
		return wire.BadRequest(msgNotSupportedYet, "Log levels of "+str["binary"]+" services")
	}
	host, _ := os.Hostname()
	if server := str["server"]; server != "" && server != host {
		return s.answerLogLevels(w, r, set, nil)
	}
	lg := s.logger()
	matches := lg != nil && strings.HasPrefix(apiLoggerName, str["prefix"])
	if set {
		if matches {
			// Logged before the change, which may silence it.
			reqctx.Log(r.Context(), s.log).WithFields(logrus.Fields{"prefix": str["prefix"], "level": strings.ToUpper(str["level"])}).
				Warn("log level set by os-services set-log")
			lg.SetLevel(level)
		}
		return s.answerLogLevels(w, r, true, nil)
	}
	levels := map[string]string{}
	if matches {
		levels[apiLoggerName] = pythonLevelName(lg.GetLevel())
	}
	return s.answerLogLevels(w, r, false, []map[string]any{{"host": host, "binary": cinderAPIBinaryName, "levels": levels}})
}

// answerLogLevels answers set-log (202, no body) or get-log ({"log_levels": […]}).
func (s *server) answerLogLevels(w http.ResponseWriter, r *http.Request, set bool, levels []map[string]any) error {
	if set {
		wire.WriteAccepted(w)
		return nil
	}
	if levels == nil {
		levels = []map[string]any{}
	}
	wire.WriteJSON(w, http.StatusOK, map[string]any{"log_levels": levels})
	return nil
}

// logger is the logrus logger behind the API's log, nil when it has none (a logger that is
// not logrus's).
func (s *server) logger() *logrus.Logger {
	switch l := s.log.(type) {
	case *logrus.Logger:
		return l
	case *logrus.Entry:
		return l.Logger
	}
	return nil
}

// pythonLevelName names a logrus level as Python's logging.getLevelName does.
func pythonLevelName(l logrus.Level) string {
	switch {
	case l >= logrus.DebugLevel:
		return "DEBUG"
	case l == logrus.InfoLevel:
		return "INFO"
	case l == logrus.WarnLevel:
		return "WARNING"
	case l == logrus.ErrorLevel:
		return "ERROR"
	}
	return "CRITICAL"
}

// gapVolumeActions are the volume actions of missing features: the volume is read (404 when
// the caller cannot see it) and the action's rule decided on it, as Cinder does, then the
// action answers that Scoria cannot do it yet.
func (s *server) gapVolumeActions() map[string]volumeAction {
	return map[string]volumeAction{
		// Issue 19: migration and manage.
		"os-migrate_volume":            s.gapVolumeAction(policyMigrateVolume, wire.MinVersion, "Migrating a volume (os-migrate_volume)"),
		"os-migrate_volume_completion": s.gapVolumeAction(policyMigrateCompletion, wire.MinVersion, "Completing a volume migration (os-migrate_volume_completion)"),
		"os-unmanage":                  s.gapVolumeAction(policyVolumeUnmanage, wire.MinVersion, "Unmanaging a volume (os-unmanage)"),
	}
}

// gapVolumeAction is a volume action introduced at since that Scoria does not do yet.
func (s *server) gapVolumeAction(rule string, since wire.Version, what string) volumeAction {
	return func(w http.ResponseWriter, r *http.Request, id string, _ any) error {
		if !wire.VersionOf(r.Context()).AtLeast(since) {
			return wire.NotFound(wire.MsgResourceNotFound)
		}
		deferRule(r, rule)
		if _, err := s.getVolume(r.Context(), id); err != nil {
			return err
		}
		return wire.BadRequest(msgNotSupportedYet, what)
	}
}
