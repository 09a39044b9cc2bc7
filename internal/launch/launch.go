// Package launch starts Scoria's services from a loaded configuration. The binaries in cmd/
// run one service each; the all-in-one binary runs them all in one process on the same code.
package launch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sync/errgroup"

	"github.com/scoria/scoria/internal/api"
	"github.com/scoria/scoria/internal/backend"
	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/outbox"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/internal/scheduler"
	"github.com/scoria/scoria/internal/scheduler/evaluator"
	"github.com/scoria/scoria/internal/service"
	"github.com/scoria/scoria/internal/volume"
	"github.com/scoria/scoria/migrations"
)

// Env is what every service of a process shares: configuration, log, database and bus.
type Env struct {
	Cfg       *config.Config
	Log       *logrus.Logger
	Store     *db.Store
	Transport rpc.Transport
}

// Open connects to the database and the message bus of cfg. With migrate, it brings the schema
// up to date (the all-in-one); otherwise it refuses to run on an outdated schema and says how
// to fix it.
func Open(ctx context.Context, cfg *config.Config, log *logrus.Logger, migrate bool) (*Env, error) {
	if err := cfg.Require("database", "connection"); err != nil {
		return nil, err
	}
	store, err := db.Open(ctx, cfg.Database.Connection)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if migrate {
		if err := store.Migrate(ctx); err != nil {
			store.Close()
			return nil, fmt.Errorf("migrate database: %w", err)
		}
	} else if err := checkSchema(ctx, store); err != nil {
		store.Close()
		return nil, err
	}
	tr, err := service.OpenTransport(cfg.Default.TransportURL, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	for _, ig := range cfg.Ignored {
		log.WithField("option", ig).Info("option not implemented by Scoria; ignored")
	}
	return &Env{Cfg: cfg, Log: log, Store: store, Transport: tr}, nil
}

func checkSchema(ctx context.Context, store *db.Store) error {
	have, err := store.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	want, err := migrations.Latest()
	if err != nil {
		return err
	}
	if have < want {
		return fmt.Errorf("database schema is at version %d, this release needs %d: run `scoria-manage db sync`", have, want)
	}
	return nil
}

// Close releases the bus and the database.
func (e *Env) Close() {
	e.Transport.Close()
	e.Store.Close()
}

// RunAPI serves the Block Storage API on osapi_volume_listen:osapi_volume_listen_port until ctx
// ends, with the outbox relay that hands accepted requests to the bus. ready, when not nil,
// receives the address it listens on.
func (e *Env) RunAPI(ctx context.Context, ready chan<- string) error {
	d := e.Cfg.Default
	relay := &outbox.Relay{Store: e.Store, Transport: e.Transport, Log: e.Log.WithField("component", "outbox")}
	zones := &zoneCache{store: e.Store, ttl: 5 * time.Second, downTime: d.ServiceDownTime}
	authOpts, err := e.authOptions()
	if err != nil {
		return err
	}
	images, err := e.glanceClient()
	if err != nil {
		return err
	}
	svcToken, err := e.serviceToken()
	if err != nil {
		return err
	}
	for res := range d.ResourceQueryFilters {
		if res != "volume" {
			e.Log.WithFields(logrus.Fields{"option": "resource_query_filters_file", "resource": res}).
				Info("filters of this resource not applied by Scoria: its lists keep Cinder's defaults")
		}
	}
	h, err := api.New(api.Options{
		Store:                     e.Store,
		Dispatcher:                relay,
		Pools:                     &api.RPCPools{Transport: e.Transport},
		Connections:               &api.RPCConnections{Transport: e.Transport},
		BackupRecords:             &api.RPCBackupRecords{Transport: e.Transport},
		BackupUseSameHost:         e.Cfg.Backups.UseSameHost,
		Log:                       e.Log.WithField("component", "api"),
		AuthStrategy:              d.AuthStrategy,
		Tokens:                    authOpts.Tokens,
		Policy:                    authOpts.Policy,
		ServiceTokenRoles:         authOpts.ServiceTokenRoles,
		ServiceTokenRolesRequired: authOpts.ServiceTokenRolesRequired,
		DefaultVolumeType:         d.DefaultVolumeType,
		DefaultGroupType:          d.DefaultGroupType,
		DefaultAvailabilityZone:   d.DefaultAvailabilityZone,
		AvailabilityZones:         zones.get,
		ServiceDownTime:           d.ServiceDownTime,
		MaxLimit:                  d.OsapiMaxLimit,
		VolumeFilters:             d.ResourceQueryFilters["volume"],
		KeyManager:                e.keyManager(),
		Images:                    images,
		ImageServiceToken:         svcToken,
		GlanceCoreProperties:      e.Cfg.Images.GlanceCoreProperties,
		EnableForceUpload:         e.Cfg.Images.EnableForceUpload,
	})
	if err != nil {
		return fmt.Errorf("build API: %w", err)
	}
	addr := net.JoinHostPort(d.OsapiVolumeListen, strconv.Itoa(d.OsapiVolumePort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := newAPIServer(h, defaultAPILimits(d))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { relay.Run(gctx, 8); return nil })
	sweeper := &api.AttachmentSweeper{Store: e.Store, Connections: &api.RPCConnections{Transport: e.Transport},
		Log: e.Log.WithField("component", "attachments"), Age: d.AttachmentSweepAge, Interval: d.AttachmentSweepInterval}
	g.Go(func() error { sweeper.Run(gctx); return nil })
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	g.Go(func() error {
		e.Log.WithField("address", ln.Addr().String()).Info("Block Storage API listening")
		if ready != nil {
			ready <- ln.Addr().String()
		}
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve API: %w", err)
		}
		return nil
	})
	return g.Wait()
}

// apiLimits bound how long one client may hold a connection of the API. Without them a
// client sending a byte every few seconds keeps a connection, and its goroutine, for ever.
type apiLimits struct {
	readHeader time.Duration // from the connection's first byte to the end of the headers
	read       time.Duration // the whole request, body included (at most 1 MiB)
	write      time.Duration // from the end of the headers to the end of the answer: the handler's work and the write
	idle       time.Duration // a kept-alive connection waiting for its next request
	keepAlive  bool
}

// Fixed limits: Cinder has no option for them. The slowest handlers wait for a volume service
// or a scheduler (30 s, 15 s), twice at most, so the write limit leaves them room.
const (
	apiReadHeaderTimeout = 10 * time.Second
	apiReadTimeout       = 60 * time.Second
	apiWriteTimeout      = 180 * time.Second
	// apiIdleForever stands for client_socket_timeout = 0, Cinder's "wait forever" (a zero
	// IdleTimeout would mean net/http's read limit instead).
	apiIdleForever = time.Duration(1<<63 - 1)
)

// defaultAPILimits are the limits of the API server for d: the fixed ones, and Cinder's
// client_socket_timeout and wsgi_keep_alive for idle connections.
func defaultAPILimits(d config.Default) apiLimits {
	idle := d.ClientSocketTimeout
	if idle == 0 {
		idle = apiIdleForever
	}
	return apiLimits{readHeader: apiReadHeaderTimeout, read: apiReadTimeout, write: apiWriteTimeout,
		idle: idle, keepAlive: d.WSGIKeepAlive}
}

// newAPIServer is the HTTP server of the API handler h, within lim.
func newAPIServer(h http.Handler, lim apiLimits) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: lim.readHeader, ReadTimeout: lim.read,
		WriteTimeout: lim.write, IdleTimeout: lim.idle}
	srv.SetKeepAlivesEnabled(lim.keepAlive)
	return srv
}

// RunScheduler runs scoria-scheduler until ctx ends.
func (e *Env) RunScheduler(ctx context.Context) error {
	d := e.Cfg.Default
	log := e.Log.WithField("component", "scheduler")
	pl, err := scheduler.NewPipeline(scheduler.Options{
		Filters: d.SchedulerDefaultFilters, Weighers: d.SchedulerDefaultWeighers,
		CapacityWeightMultiplier:          d.CapacityWeightMultiplier,
		AllocatedCapacityWeightMultiplier: d.AllocatedCapacityWeightMultiplier,
		VolumeNumberMultiplier:            d.VolumeNumberMultiplier,
	})
	var oe *scheduler.OptionError
	if errors.As(err, &oe) {
		return &config.Error{File: strings.Join(e.Cfg.Files, ", "), Section: "DEFAULT", Key: oe.Option, Reason: oe.Reason}
	}
	if err != nil {
		return err
	}
	s := &scheduler.Scheduler{Store: e.Store, Transport: e.Transport, Log: log, ServiceDownTime: d.ServiceDownTime,
		MaxAttempts: d.SchedulerMaxAttempts, Started: time.Now().UTC(), StartupWait: d.PeriodicInterval, Pipeline: pl}
	hb := &service.Heartbeat{Store: e.Store, Interval: d.ReportInterval, Log: log,
		Service: resource.Service{Binary: resource.BinaryScheduler, Host: d.Host, Topic: rpc.TopicScheduler, AvailabilityZone: d.StorageAvailabilityZone}}
	if err := hb.Register(ctx); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { hb.Run(gctx); return nil })
	g.Go(func() error {
		return e.Transport.Serve(gctx, rpc.Target{Topic: rpc.TopicScheduler, Server: d.Host}, s.Handle)
	})
	g.Go(func() error {
		// Creates accepted before this start whose message was lost are scheduled again
		// (retried while the database refuses).
		for {
			n, err := s.Recover(gctx, e.Store, s.Started)
			if err == nil {
				if n > 0 {
					log.WithField("count", n).Warn("recovery: creates left unplaced are scheduled again")
				}
				return nil
			}
			log.WithError(err).Error("recovery: could not take back the creates left unplaced; trying again in 5s")
			select {
			case <-gctx.Done():
				return nil
			case <-time.After(5 * time.Second):
			}
		}
	})
	g.Go(func() error { e.askForReports(gctx, s); return nil })
	g.Go(func() error { s.ReconcileLoop(gctx, d.PeriodicInterval); return nil })
	g.Go(func() error { e.reapMessages(gctx, d.MessageReapInterval, log); return nil })
	return g.Wait()
}

// reapMessages removes expired user messages every interval, as Cinder's scheduler does.
func (e *Env) reapMessages(ctx context.Context, interval time.Duration, log logrus.FieldLogger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := e.Store.PurgeExpiredMessages(ctx, time.Now().UTC())
			if err != nil {
				log.WithError(err).Warn("could not remove expired user messages")
				continue
			}
			if n > 0 {
				log.WithField("count", n).Info("expired user messages removed")
			}
		}
	}
}

// askForReports asks volume services to report at start, and again while some up service has
// not reported (its report may have raced the scheduler's own queue being declared).
func (e *Env) askForReports(ctx context.Context, s *scheduler.Scheduler) {
	wait := 50 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		services, err := e.Store.ListServices(ctx, resource.ServiceFilter{Binary: resource.BinaryVolume})
		if err != nil {
			continue
		}
		up := 0
		for _, svc := range services {
			if !svc.Disabled && svc.Up(time.Now().UTC(), e.Cfg.Default.ServiceDownTime) {
				up++
			}
		}
		if s.Reported() < up {
			if err := e.Transport.Fanout(ctx, rpc.TopicVolume, rpcapi.PublishCapabilities, struct{}{}); err != nil {
				e.Log.WithError(err).Debug("could not ask volume services for capabilities")
			}
		}
		if wait < 10*time.Second {
			wait *= 2
		}
	}
}

// RunVolume runs one volume service per enabled backend until ctx ends.
func (e *Env) RunVolume(ctx context.Context) error {
	d := e.Cfg.Default
	if len(e.Cfg.Backends) == 0 {
		return errors.New("no backend to serve: set enabled_backends in [DEFAULT] and a section for each")
	}
	managers := make([]*volume.Manager, 0, len(e.Cfg.Backends))
	images, err := e.glanceClient()
	if err != nil {
		return err
	}
	svcToken, err := e.serviceToken()
	if err != nil {
		return err
	}
	for _, b := range e.Cfg.Backends {
		drv, err := backend.New(b, d.StatePath)
		if err != nil {
			return err
		}
		for key, fn := range map[string]string{"filter_function": b.FilterFunction, "goodness_function": b.GoodnessFunction} {
			if fn == "" {
				continue
			}
			if _, err := evaluator.Parse(fn); err != nil {
				return &config.Error{File: b.File, Section: b.Name, Key: key, Reason: err.Error()}
			}
		}
		for _, k := range b.UnusedKeys() {
			e.Log.WithField("option", b.Name+"/"+k).Info("backend option not implemented by Scoria; ignored")
		}
		host := d.Host + "@" + b.Name
		log := e.Log.WithFields(logrus.Fields{"component": "volume", "backend": b.Name})
		tgt, err := targetHelper(b, drv, log)
		if err != nil {
			return err
		}
		hb := &service.Heartbeat{Store: e.Store, Interval: d.ReportInterval, Log: log,
			Service: resource.Service{Binary: resource.BinaryVolume, Host: host, Topic: rpc.TopicVolume, AvailabilityZone: b.BackendAvailabilityZone}}
		managers = append(managers, &volume.Manager{
			Host: host, Zone: b.BackendAvailabilityZone, Driver: drv, Store: e.Store, Transport: e.Transport,
			FilterFunction: b.FilterFunction, GoodnessFunction: b.GoodnessFunction,
			Log: log, ReportInterval: d.PeriodicInterval, ServiceDownTime: d.ServiceDownTime, Target: tgt, Images: e.volumeImages(images, svcToken, b),
			Reconciler: &volume.Reconciler{Host: host, Driver: drv, Store: e.Store, Log: log, Interval: d.StorageReconcileInterval},
			Ready: func(ctx context.Context) {
				if err := hb.Register(ctx); err != nil {
					log.WithError(err).Error("could not register the service")
				}
				go hb.Run(ctx)
			},
		})
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, m := range managers {
		g.Go(func() error { return m.Run(gctx) })
	}
	return g.Wait()
}

// zoneCache lists the availability zones of up volume services, refreshed every ttl.
type zoneCache struct {
	store    *db.Store
	ttl      time.Duration
	downTime time.Duration

	mu    sync.Mutex
	at    time.Time
	zones []string
}

func (z *zoneCache) get() []string {
	z.mu.Lock()
	defer z.mu.Unlock()
	if time.Since(z.at) < z.ttl && z.zones != nil {
		return z.zones
	}
	services, err := z.store.ListServices(context.Background(), resource.ServiceFilter{Binary: resource.BinaryVolume})
	if err != nil {
		return z.zones
	}
	seen := map[string]bool{}
	zones := []string{}
	for _, s := range services {
		if !s.Disabled && s.Up(time.Now().UTC(), z.downTime) && !seen[s.AvailabilityZone] {
			seen[s.AvailabilityZone] = true
			zones = append(zones, s.AvailabilityZone)
		}
	}
	z.zones, z.at = zones, time.Now()
	return zones
}
