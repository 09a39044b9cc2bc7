// Package api serves OpenStack's Block Storage API v3 as Cinder does, so that the cinder CLI,
// openstackclient and gophercloud work against Scoria unchanged.
//
// It serves the versions documents, volumes (create, show, list, update, delete, summary,
// metadata, actions), snapshots, attachments (and the legacy attach actions), volume types
// with extra specs, access, defaults and encryption (encrypted volumes' keys from the key
// manager; volume_types*.go), group types with group specs (3.11), generic volume groups
// (3.13+), group snapshots (3.14+) and Cinder Zed's deprecated consistencygroups and
// cgsnapshots on top of them, QoS specs, quota sets and classes, limits, transfers, user
// messages (3.3), os-services, os-availability-zone, extensions, and scheduler-stats/get_pools
// and capabilities, with noauth or Keystone authentication, Cinder's policy rules and
// microversions up to MaxVersion, and backups (create, restore, export and import
// of records; backups*.go), sent to the backup services. The features Scoria does not have
// yet but advertises (clusters, manageable volumes and snapshots, workers cleanup, the migration
// volume actions) are stubs (gaps.go) that answer as Cinder does without them;
// os-services set-log/get-log (3.32) act on the API's own logger.
//
// Handlers return their error (wire.HandlerFunc) and never write a fault themselves: the
// framework they share — the JSON body decoder with bounded depth and echo, generic schema
// checks, faults in Cinder's format and the one error-to-fault mapping, microversion
// negotiation, query parsing and paging, and the adapter that answers a returned error — is
// the subpackage wire. The table of the microversions at which served endpoints change
// (microversion.go), the resource schemas and the views stay here. Self-contained areas are
// subpackages whose handlers the router here registers: messages (user messages), quotas
// (quota sets, quota classes, limits; creates still charge quotas in their own transactions
// through the store) and transfers (volume transfers, which read their volume through the
// volume getter here). What they share with the handlers here is in the subpackages view
// (timestamps, optional members, null strings, links) and authz (the request's policy
// decisions, pending object rules). Each area declares what it needs of the database in its
// own file or package (volumeStore, snapshotStore, messages.Store, quotas.Store,
// transfers.Store, …); Store is their union. A request the API accepts is written to the
// database together with the RPC messages it causes (an outbox), and those messages are handed
// to the Dispatcher after the commit; pools are asked of the scheduler with a call (Pools).
// The attachment sweeper settles attachments a crash left half-made.
package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/scoria/scoria/internal/api/authz"
	"github.com/scoria/scoria/internal/api/messages"
	"github.com/scoria/scoria/internal/api/quotas"
	"github.com/scoria/scoria/internal/api/transfers"
	"github.com/scoria/scoria/internal/api/wire"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/keymanager"
	"github.com/scoria/scoria/internal/policy"
	"github.com/scoria/scoria/internal/resource"
)

// Store is what the API needs of the database: the union of what each area declares it
// needs, in the area's own file (volumeStore in volumes.go, snapshotStore in snapshots.go, …).
// *db.Store satisfies it.
type Store interface {
	volumeStore
	messages.Store
	serviceStore
	typeStore
	snapshotStore
	quotas.Store
	transfers.Store
	volumeExtraStore
	volumeSourceStore
	attachmentStore
	groupSnapshotStore
	backendOpsStore
	groupTypeStore
	encryptionStore
	groupStore
	backupStore
}

// Dispatcher publishes outbox rows right after the transaction that wrote them committed.
// It is best effort: a row it cannot publish is sent again by the outbox sweeper.
type Dispatcher interface {
	Dispatch(ctx context.Context, msgs []resource.OutboxMessage)
}

// Options configure the API.
type Options struct {
	Store      Store
	Dispatcher Dispatcher
	// Pools answers GET /scheduler-stats/get_pools and GET /capabilities/{host}; RPCPools
	// asks the scheduler. Without it those endpoints answer 503.
	Pools Pools
	// Connections initializes and terminates volumes' connections on their volume services
	// (RPCConnections); without it attaching a host answers 503.
	Connections Connections
	Log         logrus.FieldLogger
	// AuthStrategy is Cinder's auth_strategy: "noauth" (the default) or "keystone", which
	// needs Tokens.
	AuthStrategy string
	// Tokens validates Keystone tokens (auth_strategy keystone).
	Tokens TokenValidator
	// ServiceTokenRoles and ServiceTokenRolesRequired are [keystone_authtoken]'s
	// service_token_roles and service_token_roles_required.
	ServiceTokenRoles         []string
	ServiceTokenRolesRequired bool
	// Policy decides Cinder's policy rules (default: Cinder's defaults).
	Policy *policy.Enforcer
	// DefaultVolumeType names the type of volumes created without one (default "__DEFAULT__").
	DefaultVolumeType string
	// DefaultGroupType names the group type GET /group_types/default shows
	// (default_group_type); "" (Cinder's default, None) answers that one 404.
	DefaultGroupType string
	// DefaultAvailabilityZone is the zone of volumes created without one (default "nova").
	DefaultAvailabilityZone string
	// AvailabilityZones, when set, lists the zones a volume may be created in besides
	// DefaultAvailabilityZone.
	AvailabilityZones func() []string
	// ServiceDownTime is how long a service may go without a heartbeat and still be up
	// (default 60s).
	ServiceDownTime time.Duration
	// MaxLimit caps the page size of lists (osapi_max_limit, default 1000).
	MaxLimit int
	// VolumeFilters are the filters a non-admin may use on volume lists from 3.31, as the
	// "volume" entry of Cinder's resource_query_filters_file ("name~" allows name and name~);
	// GET /resource_filters publishes them. Nil: Cinder's default (volumeFilterKeys).
	VolumeFilters []string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// KeyManager holds encrypted volumes' keys (nil: none, and such volumes are refused).
	KeyManager keymanager.Manager
	// Images is the Image service (Glance): volumes made from images and uploaded to them
	// (nil: such requests answer 400). ImageServiceToken, when set, gives a service user's
	// token for calls made without a user token (auth_strategy noauth).
	Images            ImageService
	ImageServiceToken func(ctx context.Context) (string, error)
	// GlanceCoreProperties is glance_core_properties (nil: Cinder's default).
	GlanceCoreProperties []string
	// EnableForceUpload is enable_force_upload: os-volume_upload_image may take an in-use
	// volume when the request says force (false: force is ignored, as Cinder's default).
	EnableForceUpload bool

	// BackupUseSameHost is backup_use_same_host: a backup is taken by the backup service
	// of its volume's host when one runs there, and restored, exported and deleted by the
	// service that holds it (false: any up service of the zone, as Cinder's default).
	BackupUseSameHost bool
	// BackupRecords asks backup services for backups' records (RPCBackupRecords); without
	// it export_record answers 503.
	BackupRecords BackupRecords
	// RestoreVolumeWait bounds how long a restore to a new volume waits for that volume to
	// leave creating (default 5 minutes); RestoreVolumePoll is how often it looks (default
	// 1s).
	RestoreVolumeWait time.Duration
	RestoreVolumePoll time.Duration

	// maxVersion, when set (tests only), advertises a higher microversion than MaxVersion, up
	// to GatedVersion, so the version-gated behaviour prepared for later releases is tested.
	maxVersion string
}

// Defaults of Options.
const (
	defaultAvailabilityZone = "nova"
	defaultServiceDownTime  = 60 * time.Second
	defaultMaxLimit         = 1000
)

// server holds the handlers' dependencies.
type server struct {
	maxVersion  wire.Version
	store       Store
	dispatcher  Dispatcher
	pools       Pools
	conns       Connections
	log         logrus.FieldLogger
	defaultType string
	defaultAZ   string
	zones       func() []string
	downTime    time.Duration
	maxLimit    int
	volFilters  []string // what a non-admin may filter volume lists by (resource_filters)
	now         func() time.Time
	actions     map[string]volumeAction // POST /volumes/{id}/action, by action name

	tokens               TokenValidator // nil with noauth
	serviceRoles         []string
	serviceRolesRequired bool
	policy               *policy.Enforcer

	defaultGroupTypeName string // default_group_type; "" for none
	keys                 keymanager.Manager

	images images // the Image service and its options (images.go)

	backupSameHost bool          // backup_use_same_host
	records        BackupRecords // nil: export_record answers 503
	restoreWait    time.Duration // bound of a restore's wait for its new volume
	restorePoll    time.Duration
}

// New returns the Block Storage API handler.
func New(o Options) (http.Handler, error) {
	if o.Store == nil {
		return nil, errors.New("api: Options.Store is required")
	}
	if o.Dispatcher == nil {
		return nil, errors.New("api: Options.Dispatcher is required")
	}
	switch o.AuthStrategy {
	case "", "noauth":
	case "keystone":
		if o.Tokens == nil {
			return nil, errors.New("api: auth_strategy keystone needs Options.Tokens")
		}
	default:
		return nil, errors.New(`api: auth_strategy "` + o.AuthStrategy + `" is not implemented; Scoria supports "noauth" and "keystone"`)
	}
	s := &server{
		store:                o.Store,
		dispatcher:           o.Dispatcher,
		pools:                o.Pools,
		conns:                o.Connections,
		log:                  o.Log,
		defaultType:          o.DefaultVolumeType,
		defaultGroupTypeName: o.DefaultGroupType,
		defaultAZ:            o.DefaultAvailabilityZone,
		zones:                o.AvailabilityZones,
		downTime:             o.ServiceDownTime,
		maxLimit:             o.MaxLimit,
		volFilters:           o.VolumeFilters,
		now:                  o.Now,
		maxVersion:           wire.MustParseVersion(MaxVersion),
		policy:               o.Policy,
		serviceRoles:         o.ServiceTokenRoles,
		serviceRolesRequired: o.ServiceTokenRolesRequired,
		keys:                 o.KeyManager,
		images: images{service: o.Images, serviceToken: o.ImageServiceToken, coreProperties: o.GlanceCoreProperties,
			forceUpload: o.EnableForceUpload},
		backupSameHost: o.BackupUseSameHost,
		records:        o.BackupRecords,
		restoreWait:    o.RestoreVolumeWait,
		restorePoll:    o.RestoreVolumePoll,
	}
	if s.restoreWait <= 0 {
		s.restoreWait = defaultRestoreVolumeWait
	}
	if s.restorePoll <= 0 {
		s.restorePoll = defaultRestoreVolumePoll
	}
	if o.AuthStrategy == "keystone" {
		s.tokens = o.Tokens
	}
	if s.policy == nil {
		s.policy = authz.Defaults()
	}
	if o.maxVersion != "" {
		v, ok := wire.ParseVersion(o.maxVersion)
		if !ok || !gatedVersion.AtLeast(v) {
			return nil, errors.New("api: maxVersion " + o.maxVersion + " is beyond what the handlers implement")
		}
		s.maxVersion = v
	}
	if s.log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		s.log = l
	}
	if s.defaultType == "" {
		s.defaultType = resource.DefaultVolumeTypeName
	}
	if s.defaultAZ == "" {
		s.defaultAZ = defaultAvailabilityZone
	}
	if s.downTime <= 0 {
		s.downTime = defaultServiceDownTime
	}
	if s.maxLimit <= 0 {
		s.maxLimit = defaultMaxLimit
	}
	if s.volFilters == nil {
		s.volFilters = volumeFilterKeys
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.actions = s.volumeActions()
	return s.handler(), nil
}
