package volume

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/pkg/driver"
)

// Exporter exports a backend's local devices to hosts: a target helper such as tgtadm
// (internal/target). Both methods must be idempotent.
type Exporter interface {
	// Export makes v (held in backing) reachable by the connector's host with accessMode
	// ("rw" or "ro") and returns the connection info.
	Export(ctx context.Context, v driver.Volume, backing driver.BackingStore, c driver.Connector, accessMode string) (driver.ConnectionInfo, error)
	// Unexport removes v's export; one that does not exist is not an error.
	Unexport(ctx context.Context, v driver.Volume) error
}

// ErrCannotAttach is the answer of a backend that can neither export its volumes nor connect
// hosts to them.
var ErrCannotAttach = errors.New("the backend cannot attach volumes")

// InitializeConnection answers initialize_connection: the volume is exported to the
// connector's host — by the target helper when the backend's volumes are local devices and
// one is configured, else by the driver itself (driver.Attacher), else, for a local device
// without a target, as os-brick's "local" connection on this host.
func (m *Manager) InitializeConnection(ctx context.Context, a rpcapi.ConnectionArgs) (*rpcapi.ConnectionReply, error) {
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "volume_id": a.VolumeID, "attachment_id": a.AttachmentID})
	v, err := m.Store.GetVolume(ctx, a.VolumeID)
	if err != nil {
		return nil, fmt.Errorf("initialize connection of volume %s: %w", a.VolumeID, err)
	}
	dv, err := m.driverVolume(ctx, v)
	if err != nil {
		return nil, fmt.Errorf("initialize connection of volume %s: %w", a.VolumeID, err)
	}
	mode := a.AccessMode
	if mode == "" {
		mode = "rw"
	}
	ld, isLocal := m.Driver.(driver.LocalDevice)
	at, isAttacher := m.Driver.(driver.Attacher)
	backing, exportable := backingStore(m.Driver, dv)
	var info driver.ConnectionInfo
	switch {
	case isLocal && m.localAttach(a.Connector):
		info = driver.ConnectionInfo{DriverVolumeType: "local", Data: map[string]any{"device_path": ld.DevicePath(dv)}}
	case exportable && m.Target != nil:
		info, err = m.Target.Export(ctx, dv, backing, a.Connector, mode)
	case isAttacher:
		info, err = at.InitializeConnection(ctx, dv, a.Connector)
	case isLocal:
		info = driver.ConnectionInfo{DriverVolumeType: "local", Data: map[string]any{"device_path": ld.DevicePath(dv)}}
	default:
		err = ErrCannotAttach
	}
	if err != nil {
		log.WithError(err).Error("could not initialize the connection")
		return nil, fmt.Errorf("initialize connection of volume %s: %w", a.VolumeID, err)
	}
	if info.Data == nil {
		info.Data = map[string]any{}
	}
	info.Data["volume_id"] = v.ID
	info.Data["access_mode"] = mode
	// As Cinder's manager: encrypted is whether the volume has a key, whatever the driver said.
	info.Data["encrypted"] = v.EncryptionKeyID != ""
	log.WithField("driver_volume_type", info.DriverVolumeType).Info("connection initialized")
	return &rpcapi.ConnectionReply{ConnectionInfo: info}, nil
}

// TerminateConnection answers terminate_connection: the connector's access ends (for a
// driver.Attacher), and with RemoveExport the volume's export is removed.
func (m *Manager) TerminateConnection(ctx context.Context, a rpcapi.ConnectionArgs) error {
	log := reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "volume_id": a.VolumeID, "attachment_id": a.AttachmentID})
	v, err := m.Store.GetVolume(ctx, a.VolumeID)
	if err != nil {
		return fmt.Errorf("terminate connection of volume %s: %w", a.VolumeID, err)
	}
	dv, err := m.driverVolume(ctx, v)
	if err != nil {
		return fmt.Errorf("terminate connection of volume %s: %w", a.VolumeID, err)
	}
	_, exportable := backingStore(m.Driver, dv)
	switch at, isAttacher := m.Driver.(driver.Attacher); {
	case exportable && m.Target != nil:
		if a.RemoveExport {
			err = m.Target.Unexport(ctx, dv)
		}
	case isAttacher:
		err = at.TerminateConnection(ctx, dv, a.Connector)
	}
	if err != nil {
		log.WithError(err).Error("could not terminate the connection")
		return fmt.Errorf("terminate connection of volume %s: %w", a.VolumeID, err)
	}
	log.WithField("remove_export", a.RemoveExport).Info("connection terminated")
	return nil
}

// localAttach reports whether connector c asks a local attach (rpcapi.ConnectorLocalAttach,
// which only Scoria's backup service sends) from this volume service's own host: its local
// devices are then opened directly, as os-brick's local connector does, rather than
// exported over iSCSI to the same host.
func (m *Manager) localAttach(c driver.Connector) bool {
	asked, _ := c[rpcapi.ConnectorLocalAttach].(bool)
	host, _ := c["host"].(string)
	own, _, _ := strings.Cut(m.Host, "@")
	return asked && host != "" && host == own
}
