package api

// ETags of a volume's user metadata (microversion 3.15), as Cinder's v3 volume_metadata
// controller has them: from 3.15 GET /volumes/{id}/metadata answers an "Etag" header, the md5
// of the very JSON body it answers (Python's json.dumps of {"metadata": …}); PUT
// /volumes/{id}/metadata and PUT /volumes/{id}/metadata/{key} with an If-Match header that
// names none of the current ETags answer 412 with an empty body. An absent or empty If-Match,
// or "*", always matches. Below 3.15 there is no ETag and If-Match is ignored.

import (
	"crypto/md5"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/scoria/scoria/internal/api/wire"

	"github.com/scoria/scoria/internal/resource"
)

// mvETags is Cinder's ETAGS microversion.
var mvETags = wire.Version{Major: 3, Minor: 15}

// metadataBody is the JSON body of GET /volumes/{id}/metadata as Cinder writes it
// (jsonutils.dumps: ", " and ": " separators, non-ASCII as \u escapes); keys are sorted so the
// ETag of unchanged metadata is stable.
func metadataBody(md map[string]string) []byte {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(`{"metadata": {`)
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		writePyJSONString(&b, k)
		b.WriteString(": ")
		writePyJSONString(&b, md[k])
	}
	b.WriteString("}}")
	return []byte(b.String())
}

// writePyJSONString writes s as Python's json.dumps (ensure_ascii) does.
func writePyJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || (r >= 0x7f && r < 0x10000):
			writeU(b, r)
		case r >= 0x10000:
			r -= 0x10000
			writeU(b, 0xd800+(r>>10))
			writeU(b, 0xdc00+(r&0x3ff))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

func writeU(b *strings.Builder, r rune) {
	h := strconv.FormatInt(int64(r), 16)
	b.WriteString(`\u` + strings.Repeat("0", 4-len(h)) + h)
}

// metadataETag is the ETag of a metadata body: its md5, in hex, unquoted as Cinder sends it.
func metadataETag(body []byte) string {
	sum := md5.Sum(body)
	return fmt.Sprintf("%x", sum)
}

// etagPattern is how webob finds the entity tags of an If-Match header.
var etagPattern = regexp.MustCompile(`(?:^|\s)(W/)?"((?:\\"|.)*?)"`)

// ifMatchTags reads an If-Match header as webob does: nil for "match anything" (absent,
// empty or "*"); otherwise the strong tags it names, or the whole value when it holds no
// quoted tag (the unquoted ETag Cinder hands out, echoed back).
func ifMatchTags(h http.Header) (tags []string, any bool) {
	v := strings.Join(h.Values("If-Match"), ", ")
	if v == "" || v == "*" {
		return nil, true
	}
	m := etagPattern.FindAllStringSubmatch(v, -1)
	if m == nil {
		return []string{v}, false
	}
	tags = []string{}
	for _, t := range m {
		if t[1] == "" {
			tags = append(tags, t[2])
		}
	}
	return tags, false
}

// metadataPreconditionOK checks the If-Match of a metadata update from 3.15 against the
// volume's current metadata. It returns false when the update must not proceed: after
// answering 412 with an empty body (and a nil error), or with the error of reading the volume.
func (s *server) metadataPreconditionOK(w http.ResponseWriter, r *http.Request, id string) (bool, error) {
	if !wire.VersionOf(r.Context()).AtLeast(mvETags) {
		return true, nil
	}
	tags, any := ifMatchTags(r.Header)
	if any {
		return true, nil
	}
	md, err := s.userMetadata(r, id)
	if err != nil {
		return false, err
	}
	if !slices.Contains(tags, metadataETag(metadataBody(md))) {
		writeEmpty(w, http.StatusPreconditionFailed)
		return false, nil
	}
	return true, nil
}

// userMetadata reads the user metadata of volume id as the caller may see it.
func (s *server) userMetadata(r *http.Request, id string) (map[string]string, error) {
	ctx := r.Context()
	if _, err := s.getVolume(ctx, id); err != nil {
		return nil, err
	}
	md, err := s.store.VolumeMetadata(ctx, resource.UserMetadata, id)
	if err != nil {
		return nil, wire.NotFoundAs(err, "Volume", id)
	}
	return md, nil
}

// writeMetadataWithETag answers GET /volumes/{id}/metadata from 3.15: Cinder's exact body
// and its md5 as the Etag header.
func writeMetadataWithETag(w http.ResponseWriter, md map[string]string) {
	body := metadataBody(md)
	w.Header().Set("Etag", metadataETag(body))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
