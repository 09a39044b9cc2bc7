package api

import (
	"net/http"

	"github.com/scoria/scoria/internal/api/wire"
)

// versionsUpdated is the "updated" date Cinder gives its v3.0 API at microversion 3.70.
const versionsUpdated = "2022-08-31T00:00:00Z"

type versionView struct {
	ID         string      `json:"id"`
	Status     string      `json:"status"`
	Version    string      `json:"version"`
	MinVersion string      `json:"min_version"`
	Updated    string      `json:"updated"`
	Links      []link      `json:"links"`
	MediaTypes []mediaType `json:"media-types"`
}

type mediaType struct {
	Base string `json:"base"`
	Type string `json:"type"`
}

func versionsDocument(r *http.Request, maxVersion wire.Version) any {
	return map[string][]versionView{"versions": {{
		ID:         "v3.0",
		Status:     "CURRENT",
		Version:    maxVersion.String(),
		MinVersion: MinVersion,
		Updated:    versionsUpdated,
		Links: []link{
			{Rel: "describedby", Type: "text/html", Href: "https://docs.openstack.org/"},
			{Rel: "self", Href: baseURL(r) + "/v3/"},
		},
		MediaTypes: []mediaType{{Base: "application/json", Type: "application/vnd.openstack.volume+json;version=3"}},
	}}}
}

// versionsRoot is GET /: the API versions, 300 Multiple Choices as Cinder answers.
func (s *server) versionsRoot(w http.ResponseWriter, r *http.Request) {
	wire.WriteJSON(w, http.StatusMultipleChoices, versionsDocument(r, s.maxVersion))
}

// versionsV3 is GET /v3/: the same document, 200. It needs no token.
func (s *server) versionsV3(w http.ResponseWriter, r *http.Request) error {
	wire.WriteJSON(w, http.StatusOK, versionsDocument(r, s.maxVersion))
	return nil
}
