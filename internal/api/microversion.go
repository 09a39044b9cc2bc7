package api

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// The microversions this API serves. A client asks for one with
// "OpenStack-API-Version: volume 3.X" (or the legacy "X-OpenStack-Volume-API-Version: 3.X");
// no header means MinVersion, "latest" means MaxVersion.
//
// MaxVersion is what Scoria advertises: the highest microversion whose every step up to it is
// implemented. It is 3.0 because 3.1 and 3.2 already need endpoints and filters Scoria does
// not serve yet (volume actions, list filters); later releases raise it. The messages API of
// 3.3 is served, gated like the rest.
//
// The handlers already honour Cinder's changes of the endpoints they serve up to
// GatedVersion, so raising MaxVersion needs only the missing endpoints. Each change, and what
// Scoria does about it:
//
//	3.0   base API                                               served
//	3.2   strict "bootable" list filter                          served (lenient before 3.2, as Cinder)
//	3.3   GET/DELETE /messages (user messages)                     served
//	3.4   "glance_metadata" list filter                          served (image metadata: os-set_image_metadata)
//	3.5   messages list: limit, marker, sort, filters            paged; filters not supported (400)
//	3.7   os-services: "cluster" field                           null (no clusters)
//	3.10  "group_id" list filter                                 accepted; matches nothing (no groups)
//	3.12  GET /volumes/summary                                   served
//	3.13  volume "group_id" field; create accepts group_id        field null; a group_id answers 400 (no groups)
//	3.15  volume metadata Etag; If-Match on metadata PUTs        served (412 on a mismatch, empty body as Cinder)
//	3.21  volume "provider_id" field (admin)                     null
//	3.23  DELETE /volumes/{id}?force=true                         served (admin)
//	3.28  get_pools filters (name, any capability)               served
//	3.31  resource filters: a non-admin's unknown list filter 400  served for volumes (below: dropped); get_pools:
//	                                                             known filters only, plus Scoria's "backend"
//	3.33  GET /resource_filters                                  served (volume, pool)
//	3.34  "name~" style LIKE filters                             served (admins; % and _ match themselves)
//	3.35  get_pools "volume_type" filter                         served
//	3.36  summary "metadata"                                     served
//	3.45  ?with_count=true → "count"                             served
//	3.47  create accepts backup_id                               a backup_id answers 400 (no backups)
//	3.48  volume "shared_targets", "service_uuid"                true (Cinder's default, makes os-brick lock), null
//	3.49  os-services: volume "backend_state"                    "up" for an up, enabled service, else null
//	3.52  GET /types "extra_specs" filter                        served (members: user-visible specs, else an empty
//	                                                             list; other member filters 400)
//	3.53  strict create/update schemas                           served
//	3.59  transfers list: limit, marker, offset, sort            NOT served yet: the parameters are ignored
//	3.60  created_at/updated_at comparison filters               served
//	3.61  volume "cluster_name" (admin)                          null
//	3.63  volume "volume_type_id"                                served
//	3.64  "encryption_key_id" when encrypted                     never present (no encryption)
//	3.65  volume "consumes_quota"; filter of that name           true; filter served (every volume consumes quota)
//	3.67  URLs without a project id                              served (at every version, as in Cinder)
//	3.69  "shared_targets" may be null                           never null (always true)
//	3.70  encrypted volume transfer                              no transfers endpoint
//
// Microversions that only change endpoints Scoria does not serve (attachments, snapshots,
// backups, groups, types, clusters, workers, transfers, volume actions) change
// nothing here: those paths answer 404 at every version.
const (
	MinVersion = "3.0"
	// MaxVersion is provisional while issue 4's endpoints land together: it is audited against
	// the table above (and lowered to the highest fully served step) before the issue closes.
	MaxVersion = "3.70"
	// GatedVersion is the highest microversion whose changes to the served endpoints the
	// handlers implement (see the table above); tests exercise it with Options.maxVersion.
	GatedVersion = "3.70"
)

// Headers a client names its microversion in.
const (
	versionHeader       = "OpenStack-API-Version"
	legacyVersionHeader = "X-OpenStack-Volume-API-Version"
	serviceType         = "volume"
)

// version is a microversion, major.minor.
type version struct{ major, minor int }

var (
	minVersion   = mustParseVersion(MinVersion)
	gatedVersion = mustParseVersion(GatedVersion)
)

// Microversions at which a served endpoint changes.
var (
	mvMessages            = version{3, 3}
	mvMessagesPagination  = version{3, 5}
	mvClusterSupport      = version{3, 7}
	mvVolumeSummary       = version{3, 12}
	mvGroupVolume         = version{3, 13}
	mvProviderID          = version{3, 21}
	mvDeleteForce         = version{3, 23}
	mvPoolFilter          = version{3, 28}
	mvResourceFilter      = version{3, 31}
	mvPoolTypeFilter      = version{3, 35}
	mvSummaryMetadata     = version{3, 36}
	mvCountInfo           = version{3, 45}
	mvCreateFromBackup    = version{3, 47}
	mvSharedTargets       = version{3, 48}
	mvBackendState        = version{3, 49}
	mvVolumeSchemaChanges = version{3, 53}
	mvVolumeClusterName   = version{3, 61}
	mvVolumeTypeID        = version{3, 63}
	mvConsumesQuota       = version{3, 65}
)

// versionPattern is Cinder's: no leading zeros, a minor part is required.
var versionPattern = regexp.MustCompile(`^([1-9][0-9]*)\.([1-9][0-9]*|0)$`)

func parseVersion(s string) (version, bool) {
	m := versionPattern.FindStringSubmatch(s)
	if m == nil {
		return version{}, false
	}
	major, err1 := strconv.Atoi(m[1])
	minor, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil {
		return version{}, false
	}
	return version{major, minor}, true
}

func mustParseVersion(s string) version {
	v, ok := parseVersion(s)
	if !ok {
		panic("api: bad microversion constant " + s)
	}
	return v
}

func (v version) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

// atLeast reports whether v is o or later.
func (v version) atLeast(o version) bool {
	return v.major > o.major || (v.major == o.major && v.minor >= o.minor)
}

// requestedVersion returns the version string the client asked for, "" when it named none.
// Several services may share the standard header ("compute 2.1, volume 3.5"); only
// "volume" counts.
func requestedVersion(h http.Header) string {
	for _, line := range h.Values(versionHeader) {
		for _, item := range strings.Split(line, ",") {
			fields := strings.Fields(item)
			if len(fields) == 2 && strings.EqualFold(fields[0], serviceType) {
				return fields[1]
			}
		}
	}
	return strings.TrimSpace(h.Get(legacyVersionHeader))
}

// negotiateVersion picks the microversion of a request. It returns the version to answer
// with (echoed in the response header even when it is refused, as Cinder does) and a fault
// when the header is malformed (400) or out of range (406).
func negotiateVersion(h http.Header, maxVersion version) (version, *fault) {
	s := requestedVersion(h)
	switch {
	case s == "":
		return minVersion, nil
	case strings.EqualFold(s, "latest"):
		return maxVersion, nil
	}
	v, ok := parseVersion(s)
	if !ok {
		return minVersion, badRequest("API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", s)
	}
	if !v.atLeast(minVersion) || !maxVersion.atLeast(v) {
		return v, newFault(http.StatusNotAcceptable,
			"Version %s is not supported by the API. Minimum is %s and maximum is %s.", v, minVersion, maxVersion)
	}
	return v, nil
}

type versionKey struct{}

func withVersion(ctx context.Context, v version) context.Context {
	return context.WithValue(ctx, versionKey{}, v)
}

// versionOf returns the microversion of the request ctx belongs to.
func versionOf(ctx context.Context) version {
	if v, ok := ctx.Value(versionKey{}).(version); ok {
		return v
	}
	return minVersion
}
