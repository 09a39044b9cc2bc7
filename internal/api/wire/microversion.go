package wire

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Headers a client names its microversion in.
const (
	VersionHeader       = "OpenStack-API-Version"
	legacyVersionHeader = "X-OpenStack-Volume-API-Version"
	ServiceType         = "volume"
)

// Version is a microversion, major.minor.
type Version struct{ Major, Minor int }

var (
	// MinVersion is the base microversion of Cinder's v3 API: a request that names none.
	MinVersion = Version{3, 0}
)

// versionPattern is Cinder's: no leading zeros, a minor part is required.
var versionPattern = regexp.MustCompile(`^([1-9][0-9]*)\.([1-9][0-9]*|0)$`)

// ParseVersion reads "major.minor" as Cinder does; false when s is malformed.
func ParseVersion(s string) (Version, bool) {
	m := versionPattern.FindStringSubmatch(s)
	if m == nil {
		return Version{}, false
	}
	major, err1 := strconv.Atoi(m[1])
	minor, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil {
		return Version{}, false
	}
	return Version{Major: major, Minor: minor}, true
}

// MustParseVersion is ParseVersion of a constant; it panics when s is malformed.
func MustParseVersion(s string) Version {
	v, ok := ParseVersion(s)
	if !ok {
		panic("api: bad microversion constant " + s)
	}
	return v
}

func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// AtLeast reports whether v is o or later.
func (v Version) AtLeast(o Version) bool {
	return v.Major > o.Major || (v.Major == o.Major && v.Minor >= o.Minor)
}

// requestedVersion returns the version string the client asked for, "" when it named none.
// Several services may share the standard header ("compute 2.1, volume 3.5"); only
// "volume" counts.
func requestedVersion(h http.Header) string {
	for _, line := range h.Values(VersionHeader) {
		for _, item := range strings.Split(line, ",") {
			fields := strings.Fields(item)
			if len(fields) == 2 && strings.EqualFold(fields[0], ServiceType) {
				return fields[1]
			}
		}
	}
	return strings.TrimSpace(h.Get(legacyVersionHeader))
}

// NegotiateVersion picks the microversion of a request. It returns the version to answer
// with (echoed in the response header even when it is refused, as Cinder does) and a fault
// when the header is malformed (400) or out of range (406).
func NegotiateVersion(h http.Header, maxVersion Version) (Version, *Fault) {
	s := requestedVersion(h)
	switch {
	case s == "":
		return MinVersion, nil
	case strings.EqualFold(s, "latest"):
		return maxVersion, nil
	}
	v, ok := ParseVersion(s)
	if !ok {
		return MinVersion, BadRequest("API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", s)
	}
	if !v.AtLeast(MinVersion) || !maxVersion.AtLeast(v) {
		return v, New(http.StatusNotAcceptable,
			"Version %s is not supported by the API. Minimum is %s and maximum is %s.", v, MinVersion, maxVersion)
	}
	return v, nil
}

type versionKey struct{}

// WithVersion returns ctx carrying the request's microversion v.
func WithVersion(ctx context.Context, v Version) context.Context {
	return context.WithValue(ctx, versionKey{}, v)
}

// VersionOf returns the microversion of the request ctx belongs to.
func VersionOf(ctx context.Context) Version {
	if v, ok := ctx.Value(versionKey{}).(Version); ok {
		return v
	}
	return MinVersion
}
