package backup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/internal/service"
	"github.com/scoria/scoria/internal/volumeio"
	"github.com/scoria/scoria/pkg/driver"
)

// Store is what the backup service needs of the database.
type Store interface {
	service.Store
	GetBackup(ctx context.Context, id string) (*resource.Backup, error)
	GetVolume(ctx context.Context, id string) (*resource.Volume, error)
	ListBackupsByHost(ctx context.Context, host string, statuses []string) ([]*resource.Backup, error)
	TransitionBackup(ctx context.Context, id string, from []string, ch resource.BackupChange, msgs ...resource.OutboxMessage) ([]resource.OutboxMessage, error)
	FinishBackup(ctx context.Context, id string, ch resource.BackupChange) error
	FailBackup(ctx context.Context, id, reason string, msg *resource.Message) error
	FinishRestore(ctx context.Context, id string) error
	FailRestore(ctx context.Context, id string, msg *resource.Message) error
	EndNewVolumeRestore(ctx context.Context, backupID, volumeID string, ok bool, msg *resource.Message) error
	DestroyBackup(ctx context.Context, id string, from []string) error
	FinishBackupImport(ctx context.Context, id string, rec resource.Backup) error
	SetBackupProgress(ctx context.Context, id string, percent int) error
	VolumesAttachments(ctx context.Context, ids []string, statuses ...string) (map[string][]*resource.Attachment, error)
}

// Attacher opens a volume on this host from the connection info its volume service
// answered (the real one is *volumeio.Attacher).
type Attacher interface {
	Open(ctx context.Context, info driver.ConnectionInfo, mode volumeio.Mode) (volumeio.Device, error)
}

// Timeouts of the calls to volume services: a backup device may be a clone of a whole
// volume, made while the call waits.
const (
	deviceCallTimeout     = 30 * time.Minute
	connectionCallTimeout = 2 * time.Minute
)

// Manager is the backup service of one host (Cinder's BackupManager).
type Manager struct {
	Host      string // this host (the [DEFAULT] host): backups.host of the backups it serves
	Zone      string // storage_availability_zone
	Store     Store
	Transport rpc.Transport
	Driver    Driver
	Attacher  Attacher
	// MaxOperations is backup_max_operations: how many backups and restores run at once; 0
	// does not bound them.
	MaxOperations int
	// ReportInterval is report_interval, the heartbeat's period (default 10s).
	ReportInterval time.Duration
	// RetryInterval is how long recovery waits before trying again while the database or a
	// volume service is unreachable (default 5s).
	RetryInterval time.Duration
	Log           logrus.FieldLogger

	semOnce sync.Once
	sem     chan struct{}

	routerOnce sync.Once
	router     *rpc.Router
}

// Run recovers the backups this host left in flight (retried until it succeeds or ctx ends;
// the temporary volumes of ended backups are removed in the background, retried while their
// volume services do not answer), then registers the service and keeps its heartbeat — so that no new work is sent to this
// host while recovery runs, as the API sends work only to up services — and serves topic
// scoria-backup for this host until ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	log := m.Log.WithField("host", m.Host)
	interval := m.ReportInterval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	hb := &service.Heartbeat{Store: m.Store, Interval: interval, Log: log,
		Service: resource.Service{Binary: resource.BinaryBackup, Host: m.Host, Topic: rpc.TopicBackup, AvailabilityZone: m.Zone}}
	for {
		err := m.recoverInFlight(ctx)
		if err == nil {
			break
		}
		log.WithError(err).Error("recovery: could not end what the backup service left in flight; trying again")
		if !m.wait(ctx) {
			return ctx.Err()
		}
	}
	// Temporary volumes need their volume services, which may be down: removed meanwhile.
	go func() {
		for {
			err := m.removeTemps(ctx)
			if err == nil {
				return
			}
			log.WithError(err).Warn("recovery: could not remove the temporary volumes of ended backups; trying again")
			if !m.wait(ctx) {
				return
			}
		}
	}()
	for {
		err := hb.Register(ctx)
		if err == nil {
			break
		}
		log.WithError(err).Error("could not register the backup service; trying again")
		if !m.wait(ctx) {
			return ctx.Err()
		}
	}
	go hb.Run(ctx)
	log.WithField("driver", m.Driver.Service()).Info("backup service started")
	return m.Transport.Serve(ctx, rpc.Target{Topic: rpc.TopicBackup, Server: m.Host}, m.Handle)
}

// wait waits RetryInterval; false when ctx ended first.
func (m *Manager) wait(ctx context.Context) bool {
	d := m.RetryInterval
	if d <= 0 {
		d = 5 * time.Second
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// Handle is the RPC handler of this host's backup queue (Routes).
func (m *Manager) Handle(ctx context.Context, msg *rpc.Message) (any, error) {
	m.routerOnce.Do(func() { m.router = m.Routes() })
	return m.router.Handle(ctx, msg)
}

// Routes is the backup service's RPC routing table.
func (m *Manager) Routes() *rpc.Router {
	r := rpc.NewRouter("backup "+m.Host, m.Log)
	rpc.OnCast(r, rpcapi.CreateBackup, func(ctx context.Context, a rpcapi.BackupArgs) error {
		return m.CreateBackup(ctx, a.BackupID)
	})
	rpc.OnCast(r, rpcapi.RestoreBackup, m.RestoreBackup)
	rpc.OnCast(r, rpcapi.DeleteBackup, func(ctx context.Context, a rpcapi.BackupArgs) error {
		return m.DeleteBackup(ctx, a.BackupID)
	})
	rpc.On(r, rpcapi.ExportBackupRecord, func(ctx context.Context, a rpcapi.BackupArgs) (any, error) {
		return m.ExportRecord(ctx, a.BackupID)
	})
	rpc.OnCast(r, rpcapi.ImportBackupRecord, m.ImportRecord)
	return r
}

// acquire takes one of MaxOperations slots (none when unbounded); release gives it back.
func (m *Manager) acquire(ctx context.Context) (release func(), err error) {
	if m.MaxOperations <= 0 {
		return func() {}, nil
	}
	m.semOnce.Do(func() { m.sem = make(chan struct{}, m.MaxOperations) })
	select {
	case m.sem <- struct{}{}:
		return func() { <-m.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// connector is this host as initialize_connection sees it, asking a local attach.
func (m *Manager) connector() driver.Connector {
	c := driver.Connector{
		"host":                      m.Host,
		rpcapi.ConnectorLocalAttach: true,
		"ip":                        ownIP(),
		"platform":                  platform(),
		"os_type":                   runtime.GOOS,
		"multipath":                 false,
	}
	if iqn := initiatorName(); iqn != "" {
		c["initiator"] = iqn
	}
	return c
}

// ownIP is this host's first non-loopback IPv4 address, 127.0.0.1 without one.
func ownIP() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

// platform is the machine's architecture as os-brick names it (platform.machine()).
func platform() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	default:
		return runtime.GOARCH
	}
}

// initiatorName is this host's iSCSI initiator name, "" when it has none.
func initiatorName() string {
	data, err := os.ReadFile("/etc/iscsi/initiatorname.iscsi")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "InitiatorName="); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// call calls a volume service (host@backend) with a timeout.
func (m *Manager) call(ctx context.Context, host, method string, timeout time.Duration, args, reply any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := m.Transport.Call(ctx, rpcapi.VolumeTarget(host), method, args, reply); err != nil {
		return fmt.Errorf("%s on volume service %s: %w", method, host, err)
	}
	return nil
}

// attached is a volume opened on this host, with what closing it needs.
type attached struct {
	dev      volumeio.Device
	host     string // its volume service
	volumeID string
	conn     driver.Connector
}

// attach asks the volume service of host for a connection of volume id to this host and
// opens it in mode.
func (m *Manager) attach(ctx context.Context, host, id string, mode volumeio.Mode) (*attached, error) {
	conn := m.connector()
	var reply rpcapi.ConnectionReply
	if err := m.call(ctx, host, rpcapi.InitializeConnection, connectionCallTimeout,
		rpcapi.ConnectionArgs{VolumeID: id, Connector: conn}, &reply); err != nil {
		return nil, err
	}
	a := &attached{host: host, volumeID: id, conn: conn}
	dev, err := m.Attacher.Open(ctx, reply.ConnectionInfo, mode)
	if err != nil {
		if terr := m.terminate(ctx, a); terr != nil {
			m.Log.WithError(terr).WithField("volume_id", id).Warn("could not end the connection of a volume not opened")
		}
		return nil, fmt.Errorf("open volume %s (%s): %w", id, reply.ConnectionInfo.DriverVolumeType, err)
	}
	a.dev = dev
	return a, nil
}

// detach closes a (its writes then reach the volume) and ends its connection, removing the
// export unless another attachment of the volume holds one, as the attachment API does.
func (m *Manager) detach(ctx context.Context, a *attached) error {
	cerr := a.dev.Close()
	terr := m.terminate(ctx, a)
	if cerr != nil {
		return fmt.Errorf("close volume %s: %w", a.volumeID, cerr)
	}
	return terr
}

func (m *Manager) terminate(ctx context.Context, a *attached) error {
	others, err := m.Store.VolumesAttachments(ctx, []string{a.volumeID})
	if err != nil {
		return fmt.Errorf("attachments of volume %s: %w", a.volumeID, err)
	}
	last := true
	for _, o := range others[a.volumeID] {
		if o.ConnectionInfo != nil {
			last = false
		}
	}
	return m.call(ctx, a.host, rpcapi.TerminateConnection, connectionCallTimeout,
		rpcapi.ConnectionArgs{VolumeID: a.volumeID, Connector: a.conn, RemoveExport: last}, nil)
}

// progress is a ProgressFunc for backup id that logs every 10 % and records each whole
// percent on the row (so at most 100 writes per operation).
func (m *Manager) progress(ctx context.Context, log logrus.FieldLogger, id, what string) ProgressFunc {
	var mu sync.Mutex
	written, logged := 0, 0
	return func(done, total int64) {
		if total <= 0 {
			return
		}
		pct := int(done * 100 / total)
		mu.Lock()
		defer mu.Unlock()
		if pct <= written {
			return
		}
		written = pct
		if err := m.Store.SetBackupProgress(ctx, id, pct); err != nil {
			log.WithError(err).Debug("could not record the progress")
		}
		if pct/10 > logged/10 {
			logged = pct
			log.WithField("percent", pct).Info(what + " in progress")
		}
	}
}

// opLog is the log of one operation on backup id, with its request id.
func (m *Manager) opLog(ctx context.Context, id string) logrus.FieldLogger {
	return reqctx.Log(ctx, m.Log).WithFields(logrus.Fields{"host": m.Host, "backup_id": id})
}

// ours reports whether backup b is served by this host; a message for another host's backup
// (moved meanwhile) is dropped.
func (m *Manager) ours(log logrus.FieldLogger, b *resource.Backup, method string) bool {
	if b.Host != "" && b.Host != m.Host {
		log.WithFields(logrus.Fields{"method": method, "backup_host": b.Host}).Warn("backup is served by another host; message dropped")
		return false
	}
	return true
}

// gone reports whether err says the row went or moved on, so that a message is dropped.
func gone(err error) bool {
	return errors.Is(err, resource.ErrNotFound) || errors.Is(err, resource.ErrInvalidState)
}
