package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// CreateVolumeType creates a public volume type with its extra specs through the API, as an
// administrator would (POST /types), and returns its id.
func (c *Cluster) CreateVolumeType(ctx context.Context, name string, extraSpecs map[string]string) (string, error) {
	type volumeType struct {
		ID          string            `json:"id,omitempty"`
		Name        string            `json:"name"`
		Description string            `json:"description,omitempty"`
		ExtraSpecs  map[string]string `json:"extra_specs,omitempty"`
	}
	body, err := json.Marshal(map[string]volumeType{"volume_type": {
		Name: name, Description: "test/cluster: " + name, ExtraSpecs: extraSpecs,
	}})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint()+"/types", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Auth-Token", "admin:"+c.Project)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("create volume type %s: %w", name, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("create volume type %s: %w", name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("create volume type %s: %s: %s", name, resp.Status, data)
	}
	var out map[string]volumeType
	if err := json.Unmarshal(data, &out); err != nil || out["volume_type"].ID == "" {
		return "", fmt.Errorf("create volume type %s: unexpected answer %s", name, data)
	}
	return out["volume_type"].ID, nil
}
