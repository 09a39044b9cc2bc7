package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/scoria/scoria/internal/api/view"
	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
)

// The views' shared parts are the subpackage view's, under the names the views here use.
type (
	timestamp  = view.Timestamp
	opt[T any] = view.Opt[T]
	link       = view.Link
)

const timestampLayout = view.TimestampLayout

func timestampPtr(t *time.Time) *timestamp { return view.TimestampPtr(t) }

func some[T any](v T) opt[T] { return view.Some(v) }

func nullable(s string) *string { return view.Nullable(s) }

func baseURL(r *http.Request) string { return view.BaseURL(r) }

// volumeSummary is an entry of GET /volumes.
type volumeSummary struct {
	ID    string  `json:"id"`
	Name  *string `json:"name"`
	Links []link  `json:"links"`
}

// volumeDetail is Cinder's detailed volume view, members in Cinder's order.
type volumeDetail struct {
	ID                 string            `json:"id"`
	Status             string            `json:"status"`
	Size               int               `json:"size"`
	AvailabilityZone   string            `json:"availability_zone"`
	CreatedAt          timestamp         `json:"created_at"`
	UpdatedAt          *timestamp        `json:"updated_at"`
	Name               *string           `json:"name"`
	Description        *string           `json:"description"`
	VolumeType         *string           `json:"volume_type"`
	SnapshotID         *string           `json:"snapshot_id"`
	SourceVolID        *string           `json:"source_volid"`
	Metadata           map[string]string `json:"metadata"`
	Links              []link            `json:"links"`
	UserID             string            `json:"user_id"`
	Bootable           string            `json:"bootable"`
	Encrypted          bool              `json:"encrypted"`
	ReplicationStatus  *string           `json:"replication_status"`
	ConsistencyGroupID *string           `json:"consistencygroup_id"`
	Multiattach        bool              `json:"multiattach"`
	Attachments        []attachmentView  `json:"attachments"`

	MigrationStatus opt[*string] `json:"migration_status,omitzero"` // admin
	GroupID         opt[*string] `json:"group_id,omitzero"`         // 3.13
	ProviderID      opt[*string] `json:"provider_id,omitzero"`      // 3.21, admin
	SharedTargets   opt[*bool]   `json:"shared_targets,omitzero"`   // 3.48
	ServiceUUID     opt[*string] `json:"service_uuid,omitzero"`     // 3.48
	ClusterName     opt[*string] `json:"cluster_name,omitzero"`     // 3.61, admin
	VolumeTypeID    opt[*string] `json:"volume_type_id,omitzero"`   // 3.63
	ConsumesQuota   opt[bool]    `json:"consumes_quota,omitzero"`   // 3.65
	// EncryptionKeyID is the volume's key in the key manager: 3.64, when encrypted.
	EncryptionKeyID opt[string] `json:"encryption_key_id,omitzero"`

	// The os-vol-* extension attributes, on show and detail list, each as its rule allows.
	TenantID opt[string]  `json:"os-vol-tenant-attr:tenant_id,omitzero"`
	MigStat  opt[*string] `json:"os-vol-mig-status-attr:migstat,omitzero"`
	NameID   opt[*string] `json:"os-vol-mig-status-attr:name_id,omitzero"`
	Host     opt[*string] `json:"os-vol-host-attr:host,omitzero"`

	// The image properties of the volume (Cinder's volume_image_metadata extension), on show
	// and detail list when there are any and volume_image_metadata:show allows.
	VolumeImageMetadata opt[map[string]string] `json:"volume_image_metadata,omitzero"`
}

// attachmentView is one entry of a volume's "attachments": one attached attachment.
type attachmentView struct {
	ID           string     `json:"id"`
	AttachmentID string     `json:"attachment_id"`
	VolumeID     string     `json:"volume_id"`
	ServerID     *string    `json:"server_id"`
	HostName     *string    `json:"host_name"`
	Device       *string    `json:"device"`
	AttachedAt   *timestamp `json:"attached_at"`
}

// viewer builds views for one request: links use the address the client called, and
// microversion, is_admin and the view rules (may) decide the optional members.
type viewer struct {
	base    string // scheme://host as the client sees it
	project string // the caller's project: Cinder builds links with it
	mv      wire.Version
	admin   bool       // Cinder's context.is_admin: migration_status, provider_id, cluster_name
	rules   *viewRules // nil: every view rule is decided as is_admin
}

func newViewer(r *http.Request) viewer {
	ctx := r.Context()
	rc := reqctx.From(ctx)
	return viewer{base: baseURL(r), project: rc.ProjectID, mv: wire.VersionOf(ctx), admin: rc.IsAdmin,
		rules: &viewRules{ctx: ctx, project: rc.ProjectID}}
}

// viewRule is one of the policy rules Cinder decides non-fatally
// (context.authorize(rule, fatal=False)) to decide what its views show.
type viewRule uint8

const (
	ruleTenantAttribute     viewRule = iota // os-vol-tenant-attr:tenant_id
	ruleHostAttribute                       // os-vol-host-attr:host
	ruleMigStatusAttribute                  // os-vol-mig-status-attr:migstat, :name_id
	ruleVolumeImageMetadata                 // volume_image_metadata
	ruleSnapshotAttributes                  // os-extended-snapshot-attributes:project_id, :progress
	ruleTypeExtraSpecs                      // a type's extra_specs
	ruleTypeSensitiveSpecs                  // extra specs beyond the user-visible ones
	ruleTypeQoSSpecsID                      // a type's qos_specs_id
	ruleTypeAccess                          // os-volume-type-access:is_public
	ruleBackupAttributes                    // os-backup-project-attr:project_id, a backup's user_id
	numViewRules
)

// viewRuleNames are the rules' names in Cinder's policy.
var viewRuleNames = [numViewRules]string{
	ruleTenantAttribute:     "volume_extension:volume_tenant_attribute",
	ruleHostAttribute:       "volume_extension:volume_host_attribute",
	ruleMigStatusAttribute:  "volume_extension:volume_mig_status_attribute",
	ruleVolumeImageMetadata: "volume_extension:volume_image_metadata:show",
	ruleSnapshotAttributes:  "volume_extension:extended_snapshot_attributes",
	ruleTypeExtraSpecs:      "volume_extension:access_types_extra_specs",
	ruleTypeSensitiveSpecs:  "volume_extension:types_extra_specs:read_sensitive",
	ruleTypeQoSSpecsID:      "volume_extension:access_types_qos_specs_id",
	ruleTypeAccess:          "volume_extension:volume_type_access",
	ruleBackupAttributes:    "backup:backup_project_attribute",
}

// viewRules holds one request's decisions of the view rules, each decided the first time a
// view asks and then remembered: a list of a thousand items decides each rule once. The
// target is the caller's own project, Cinder's default target of context.authorize.
type viewRules struct {
	ctx     context.Context
	project string
	mu      sync.Mutex
	known   uint16 // bit r: rule r decided
	allowed uint16 // bit r: rule r allowed
}

// may reports whether the caller's view shows what rule guards.
func (vw viewer) may(rule viewRule) bool {
	if vw.rules == nil {
		return vw.admin
	}
	return vw.rules.may(rule)
}

func (vr *viewRules) may(rule viewRule) bool {
	bit := uint16(1) << rule
	vr.mu.Lock()
	defer vr.mu.Unlock()
	if vr.known&bit == 0 {
		if allowedIn(vr.ctx, viewRuleNames[rule], vr.project) {
			vr.allowed |= bit
		}
		vr.known |= bit
	}
	return vr.allowed&bit != 0
}

func (vw viewer) links(collection, id string) []link {
	return view.Linker{Base: vw.base, Project: vw.project}.Links(collection, id)
}

// nextLink is the "next" link of a full page: the same query with marker (moved to the end,
// as webob's MultiDict puts it) set to the last item of the page.
func (vw viewer) nextLink(collection string, query []wire.QueryParam, last string) []link {
	return view.Linker{Base: vw.base, Project: vw.project}.Next(collection, query, last)
}

func (vw viewer) summary(v *resource.Volume) volumeSummary {
	return volumeSummary{ID: v.ID, Name: nullable(v.Name), Links: vw.links("volumes", v.ID)}
}

// detail is the detailed view; withExtensions adds the os-vol-* attributes that Cinder's
// extensions put on show and detail list (not on create or update).
func (vw viewer) detail(v *resource.Volume, withExtensions bool) volumeDetail {
	md := v.Metadata
	if md == nil {
		md = map[string]string{}
	}
	typeName := v.VolumeTypeName
	if typeName == "" {
		typeName = v.VolumeTypeID
	}
	bootable := "false"
	if v.Bootable {
		bootable = "true"
	}
	d := volumeDetail{
		ID:               v.ID,
		Status:           v.Status,
		Size:             v.Size,
		AvailabilityZone: v.AvailabilityZone,
		CreatedAt:        timestamp(v.CreatedAt),
		UpdatedAt:        timestampPtr(v.UpdatedAt),
		Name:             nullable(v.Name),
		Description:      nullable(v.Description),
		VolumeType:       nullable(typeName),
		SnapshotID:       nullable(v.SnapshotID),
		SourceVolID:      nullable(v.SourceVolID),
		Metadata:         md,
		Links:            vw.links("volumes", v.ID),
		UserID:           v.UserID,
		Bootable:         bootable,
		Encrypted:        v.EncryptionKeyID != "",
		Multiattach:      v.Multiattach,
		Attachments:      []attachmentView{},
	}
	if vw.admin {
		d.MigrationStatus = some[*string](nil)
	}
	if vw.mv.AtLeast(mvGroupVolume) {
		d.GroupID = some(nullable(v.GroupID))
	}
	if vw.admin && vw.mv.AtLeast(mvProviderID) {
		d.ProviderID = some(nullable(v.Provider.ID))
	}
	if vw.mv.AtLeast(mvSharedTargets) {
		// Scoria does not track whether a backend shares targets between volumes; true is
		// Cinder's default and the safe answer (os-brick then serialises attachments).
		shared := true
		d.SharedTargets = some(&shared)
		d.ServiceUUID = some[*string](nil)
	}
	if vw.admin && vw.mv.AtLeast(mvVolumeClusterName) {
		d.ClusterName = some[*string](nil)
	}
	if vw.mv.AtLeast(mvVolumeTypeID) {
		d.VolumeTypeID = some(nullable(v.VolumeTypeID))
	}
	if vw.mv.AtLeast(mvConsumesQuota) {
		d.ConsumesQuota = some(true)
	}
	if v.EncryptionKeyID != "" && vw.mv.AtLeast(mvEncryptionKeyID) {
		d.EncryptionKeyID = some(v.EncryptionKeyID)
	}
	if withExtensions {
		// Each extension adds its attributes when its rule allows, as Cinder's
		// volume_tenant_attribute, volume_mig_status_attribute and volume_host_attribute do.
		if vw.may(ruleTenantAttribute) {
			d.TenantID = some(v.ProjectID)
		}
		if vw.may(ruleMigStatusAttribute) {
			d.MigStat = some[*string](nil)
			d.NameID = some[*string](nil)
		}
		if vw.may(ruleHostAttribute) {
			d.Host = some(nullable(v.Host))
		}
	}
	return d
}
