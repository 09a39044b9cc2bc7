// Package rpcapi defines the RPC methods Scoria's services send one another and their
// arguments: the contract between the API, the scheduler and the volume services (volumes,
// snapshots, connections, capability reports, generic groups).
package rpcapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/pkg/driver"
)

// Methods.
const (
	// CreateVolume goes API → scheduler (place it) and scheduler → volume service (make it),
	// and back volume service → scheduler when the create failed and may be retried.
	CreateVolume = "create_volume"
	// DeleteVolume goes API → volume service.
	DeleteVolume = "delete_volume"
	// UpdateCapabilities is a volume service's capability report, fanned out to schedulers.
	UpdateCapabilities = "update_service_capabilities"
	// PublishCapabilities asks every volume service to report now (a scheduler that starts).
	PublishCapabilities = "publish_service_capabilities"
	// GetPools is a call API → scheduler: the pools it knows, with their capabilities.
	GetPools = "get_pools"
)

// VolumeTypeSpec is the volume type of a request, with the extra specs the scheduler's
// CapabilitiesFilter matches against the pools' capabilities.
type VolumeTypeSpec struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	ExtraSpecs map[string]string `json:"extra_specs,omitempty"`
}

// GetPoolsArgs are the filters of GET /scheduler-stats/get_pools (from 3.28: name, backend,
// volume_type; the API resolves volume_type into VolumeType).
type GetPoolsArgs struct {
	Filters    map[string]string `json:"filters,omitempty"`
	VolumeType *VolumeTypeSpec   `json:"volume_type,omitempty"`
}

// PoolInfo is one pool as GET /scheduler-stats/get_pools shows it: its full name
// (host@backend#pool) and its capabilities in Cinder's keys (backend-level keys, pool-level
// keys and custom capabilities merged, plus timestamp and backend_state).
type PoolInfo struct {
	Name         string         `json:"name"`
	Capabilities map[string]any `json:"capabilities"`
}

// CreateVolumeArgs is the request spec of a create.
type CreateVolumeArgs struct {
	VolumeID         string `json:"volume_id"`
	Size             int    `json:"size"`
	AvailabilityZone string `json:"availability_zone,omitempty"`
	VolumeTypeID     string `json:"volume_type_id,omitempty"`
	// VolumeType, when set, carries the type's extra specs for the CapabilitiesFilter.
	VolumeType *VolumeTypeSpec `json:"volume_type,omitempty"`
	// SchedulerHints are the OS-SCH-HNT:scheduler_hints of the request (same_host,
	// different_host, query, …).
	SchedulerHints map[string]any `json:"scheduler_hints,omitempty"`
	// SnapshotID and SourceVolID name what the volume is made from (create from a snapshot, a
	// clone); the scheduler then places it on the backend that holds the source.
	SnapshotID  string `json:"snapshot_id,omitempty"`
	SourceVolID string `json:"source_volid,omitempty"`
	// ImageID names the Glance image a volume is made from (create from an image); its
	// properties are the volume's image metadata, written with the row.
	ImageID string `json:"image_id,omitempty"`
	// BackupID names the backup a volume is made from (3.47): the volume service makes the
	// raw volume, leaves it creating, moves the backup to restoring on an available backup
	// service and casts restore_backup with VolumeIsNew, as Cinder's _create_from_backup.
	BackupID   string   `json:"backup_id,omitempty"`
	Attempts   int      `json:"attempts"`              // placements made so far
	TriedHosts []string `json:"tried_hosts,omitempty"` // pools that failed
	LastError  string   `json:"last_error,omitempty"`
}

// DeleteVolumeArgs names the volume to delete.
type DeleteVolumeArgs struct {
	VolumeID string `json:"volume_id"`
}

// CapabilitiesArgs is one backend's capability report.
type CapabilitiesArgs struct {
	Host             string       `json:"host"` // host@backend
	AvailabilityZone string       `json:"availability_zone"`
	Stats            driver.Stats `json:"stats"`
	ReportedAt       time.Time    `json:"reported_at"`
}

// BackendHost strips the pool from host@backend#pool.
func BackendHost(host string) string {
	if i := strings.IndexByte(host, '#'); i >= 0 {
		return host[:i]
	}
	return host
}

// PoolName returns the pool part of host@backend#pool ("" when there is none).
func PoolName(host string) string {
	if i := strings.IndexByte(host, '#'); i >= 0 {
		return host[i+1:]
	}
	return ""
}

// Outbox builds the outbox row of a cast to target, carrying the caller's context.
func Outbox(rc reqctx.Context, target rpc.Target, method string, args any) (resource.OutboxMessage, error) {
	a, err := json.Marshal(args)
	if err != nil {
		return resource.OutboxMessage{}, fmt.Errorf("marshal %s args: %w", method, err)
	}
	c, err := json.Marshal(rc)
	if err != nil {
		return resource.OutboxMessage{}, fmt.Errorf("marshal context: %w", err)
	}
	return resource.OutboxMessage{Topic: target.Topic, Server: target.Server, Method: method, Args: a, Context: c}, nil
}

// SchedulerTarget addresses any scheduler.
func SchedulerTarget() rpc.Target { return rpc.Target{Topic: rpc.TopicScheduler} }

// VolumeTarget addresses the volume service of host (host@backend, or host@backend#pool).
func VolumeTarget(host string) rpc.Target {
	return rpc.Target{Topic: rpc.TopicVolume, Server: BackendHost(host)}
}
