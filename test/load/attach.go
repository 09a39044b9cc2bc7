package load

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/scoria/scoria/test/blockstorage"
)

// AttachMicroversion is the microversion the attach phase sends: 3.54 (attachments with a
// mode; os-complete is 3.44, the attachments API 3.27).
const AttachMicroversion = "3.54"

// attachHeader is sent with every attachments request.
var attachHeader = http.Header{"OpenStack-API-Version": {"volume " + AttachMicroversion}}

// connectorOf is the os-brick connector of load client i: one initiator per client, as a
// compute host would send it.
func connectorOf(i int) map[string]any {
	return map[string]any{
		"initiator": fmt.Sprintf("iqn.1993-08.org.debian:01:scoria-load-%d", i),
		"ip":        "127.0.0.1",
		"host":      fmt.Sprintf("scoria-load-%d", i),
		"platform":  "x86_64",
		"os_type":   "linux2",
		"multipath": false,
	}
}

// attachment is one attachment the attach phase completed: the detach phase deletes it.
type attachment struct {
	id, volumeID string
}

// attach is the attach phase: for each available volume, POST /attachments with a connector
// (reserve + initialize_connection in one request; the answer must carry connection_info),
// then POST /attachments/{id}/action {"os-complete": null}. Latency runs from sending the POST
// to the answer of os-complete.
func (r *runner) attach(ctx context.Context) Phase {
	rec := &recorder{phase: Phase{Name: "attach", Unit: "att/s"}}
	ids := r.available
	return rec.run(ctx, r.cfg, len(ids), func(ctx context.Context, i int) {
		start := time.Now()
		id, err := r.attachOne(ctx, rec, ids[i], i%r.cfg.C)
		if id != "" {
			// Created, even when complete failed: the detach phase deletes it.
			r.mu.Lock()
			r.attachments = append(r.attachments, attachment{id: id, volumeID: ids[i]})
			r.mu.Unlock()
		}
		if err != nil {
			rec.fail(err)
			return
		}
		rec.ok(time.Since(start))
	})
}

// attachOne creates and completes one attachment of volumeID; it returns the attachment's id
// once it was created.
func (r *runner) attachOne(ctx context.Context, rec *recorder, volumeID string, client int) (string, error) {
	body, err := json.Marshal(map[string]any{"attachment": map[string]any{
		"volume_uuid":   volumeID,
		"instance_uuid": fmt.Sprintf("00000000-0000-4000-8000-%012d", client),
		"mode":          "rw",
		"connector":     connectorOf(client),
	}})
	if err != nil {
		return "", err
	}
	rec.requests.Add(1)
	resp, err := r.cl.Do(ctx, http.MethodPost, "/attachments", body, attachHeader)
	if err != nil {
		return "", err
	}
	if resp.Status != http.StatusOK {
		return "", fault(http.MethodPost, "/attachments", resp)
	}
	var created struct {
		Attachment struct {
			ID             string         `json:"id"`
			ConnectionInfo map[string]any `json:"connection_info"`
		} `json:"attachment"`
	}
	if err := json.Unmarshal(resp.Body, &created); err != nil || created.Attachment.ID == "" {
		return "", fmt.Errorf("POST /attachments: answer without an attachment id (%v): %.300s", err, resp.Body)
	}
	id := created.Attachment.ID
	if len(created.Attachment.ConnectionInfo) == 0 {
		return id, fmt.Errorf("POST /attachments for volume %s: no connection_info in the answer: %.300s", volumeID, resp.Body)
	}
	rec.requests.Add(1)
	path := "/attachments/" + id + "/action"
	resp, err = r.cl.Do(ctx, http.MethodPost, path, []byte(`{"os-complete": null}`), attachHeader)
	if err != nil {
		return id, err
	}
	if resp.Status != http.StatusNoContent {
		return id, fault(http.MethodPost, path, resp)
	}
	return id, nil
}

// detach is the detach phase: DELETE /attachments/{id} of every attachment the attach phase
// created (terminate_connection, which removes the export with the volume's last
// connection). Latency is the DELETE's.
func (r *runner) detach(ctx context.Context) Phase {
	rec := &recorder{phase: Phase{Name: "detach", Unit: "det/s"}}
	atts := r.attachments
	return rec.run(ctx, r.cfg, len(atts), func(ctx context.Context, i int) {
		start := time.Now()
		rec.requests.Add(1)
		path := "/attachments/" + atts[i].id
		resp, err := r.cl.Do(ctx, http.MethodDelete, path, nil, attachHeader)
		switch {
		case err != nil:
			rec.fail(err)
		case resp.Status != http.StatusOK:
			rec.fail(fault(http.MethodDelete, path, resp))
		default:
			rec.ok(time.Since(start))
		}
	})
}

// fault is the error of an unexpected answer.
func fault(method, path string, resp *blockstorage.Response) error {
	f := &blockstorage.Fault{Method: method, URL: path, Status: resp.Status, Body: string(resp.Body)}
	f.Name, f.Code, f.Message, _ = blockstorage.ParseFault(resp.Body)
	return f
}
