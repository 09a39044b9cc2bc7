package api

import (
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/scoria/scoria/internal/api/wire"
)

// GET /extensions lists Cinder's API extensions that Scoria serves, in Cinder's shape, so that
// clients that look for an extension by name (Horizon looks for AvailabilityZones,
// VolumeTypeAccess, QuotaSets, …) find what is there and nothing that is not.

// extension is one of Cinder's extensions and a path that shows whether Scoria serves it.
type extension struct {
	Alias       string `json:"alias"`
	Description string `json:"description"`
	Links       []any  `json:"links"`
	Name        string `json:"name"`
	Namespace   string `json:"namespace"`
	Updated     string `json:"updated"`
	probe       string // a path under /v3 the extension serves
}

// knownExtensions are the extensions of Cinder's that Scoria implements (or may, as areas
// land), with Cinder's names, aliases and dates.
var knownExtensions = []extension{
	{Alias: "os-availability-zone", Name: "AvailabilityZones", Description: "Describe Availability Zones.", Updated: "2013-06-27T00:00:00+00:00", probe: "/os-availability-zone"},
	{Alias: "capabilities", Name: "Capabilities", Description: "Capabilities support.", Updated: "2015-08-31T00:00:00+00:00", probe: "/capabilities/probe"},
	{Alias: "os-extended-snapshot-attributes", Name: "ExtendedSnapshotAttributes", Description: "Extended SnapshotAttributes support.", Updated: "2012-06-19T00:00:00+00:00", probe: "/snapshots/detail"},
	{Alias: "os-vol-host-attr", Name: "VolumeHostAttribute", Description: "Expose host as an attribute of a volume.", Updated: "2011-11-03T00:00:00+00:00", probe: "/volumes/detail"},
	{Alias: "os-vol-tenant-attr", Name: "VolumeTenantAttribute", Description: "Expose the internal project_id as an attribute of a volume.", Updated: "2011-11-03T00:00:00+00:00", probe: "/volumes/detail"},
	{Alias: "os-vol-mig-status-attr", Name: "VolumeMigStatusAttribute", Description: "Expose migration_status as an attribute of a volume.", Updated: "2013-08-08T00:00:00+00:00", probe: "/volumes/detail"},
	{Alias: "os-volume-actions", Name: "VolumeActions", Description: "Enable volume actions.", Updated: "2012-05-31T00:00:00+00:00", probe: "/volumes/probe/action"},
	{Alias: "os-quota-sets", Name: "Quotas", Description: "Quota management support.", Updated: "2011-08-08T00:00:00+00:00", probe: "/os-quota-sets/probe"},
	{Alias: "qos-specs", Name: "Qos_specs_manage", Description: "QoS specs support.", Updated: "2013-08-02T00:00:00+00:00", probe: "/qos-specs"},
	{Alias: "scheduler-stats", Name: "Scheduler_stats", Description: "Scheduler stats support.", Updated: "2014-09-07T00:00:00+00:00", probe: "/scheduler-stats/get_pools"},
	{Alias: "os-services", Name: "Services", Description: "Services support.", Updated: "2012-10-28T00:00:00-00:00", probe: "/os-services"},
	{Alias: "os-types-extra-specs", Name: "TypesExtraSpecs", Description: "Type extra specs support.", Updated: "2011-08-24T00:00:00+00:00", probe: "/types/probe/extra_specs"},
	{Alias: "os-types-manage", Name: "TypesManage", Description: "Types manage support.", Updated: "2011-08-24T00:00:00+00:00", probe: "/types"},
	{Alias: "os-volume-transfer", Name: "VolumeTransfer", Description: "Volume transfer management support.", Updated: "2013-05-29T00:00:00+00:00", probe: "/os-volume-transfer"},
	{Alias: "os-volume-type-access", Name: "VolumeTypeAccess", Description: "Volume type access support.", Updated: "2014-06-26T00:00:00Z", probe: "/types/probe/os-volume-type-access"},
	{Alias: "encryption", Name: "VolumeTypeEncryption", Description: "Encryption support for volume types.", Updated: "2013-07-01T00:00:00+00:00", probe: "/types/probe/encryption"},
	{Alias: "os-volume-encryption-metadata", Name: "VolumeEncryptionMetadata", Description: "Volume encryption metadata retrieval support.", Updated: "2013-07-10T00:00:00+00:00", probe: "/volumes/probe/encryption"},
	{Alias: "os-used-limits", Name: "UsedLimits", Description: "Provide data on limited resources that are being used.", Updated: "2013-10-03T00:00:00+00:00", probe: "/limits"},
}

// extensionLister answers GET /extensions. Which extensions are served is found once, by
// asking the API's own router about each probe path with a method nothing serves: a path it
// knows answers 405, one it does not 404. No handler runs.
type extensionLister struct {
	s     *server
	once  sync.Once
	found []extension
}

func newExtensionLister(s *server) *extensionLister { return &extensionLister{s: s} }

func (l *extensionLister) served() []extension {
	l.once.Do(func() {
		h := l.s.handler()
		l.found = []extension{}
		for _, e := range knownExtensions {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("PATCH", "/v3"+e.probe, nil))
			if rec.Code == http.StatusMethodNotAllowed {
				e.Links = []any{}
				e.Namespace = "https://docs.openstack.org/volume/ext/" + e.Alias + "/api/v1"
				l.found = append(l.found, e)
			}
		}
	})
	return l.found
}

// list is GET /extensions.
func (l *extensionLister) list(w http.ResponseWriter, r *http.Request) error {
	wire.WriteJSON(w, http.StatusOK, map[string]any{"extensions": l.served()})
	return nil
}
