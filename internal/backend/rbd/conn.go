//go:build ceph

package rbd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/ceph/go-ceph/rados"

	"github.com/scoria/scoria/pkg/driver"
)

// ErrUnreachable wraps every failure to reach the cluster in time: the backend reports
// itself down with it instead of hanging. It is a driver.ErrUnavailable.
var ErrUnreachable = driver.Mark(errors.New("the Ceph cluster does not answer"), driver.ErrUnavailable)

// ConnConfig says how to reach the cluster: Cinder's rbd_* and rados_* options.
type ConnConfig struct {
	ClusterName string        // rbd_cluster_name [ceph]
	ConfFile    string        // rbd_ceph_conf; "" lets librados find it
	User        string        // rbd_user; "" is client.admin
	Keyring     string        // rbd_keyring_conf: the user's keyring file, "" for the conf's
	Pool        string        // rbd_pool
	Connect     time.Duration // rados_connect_timeout (client_mount_timeout)
	OpTimeout   time.Duration // every call's bound (rados_mon_op_timeout, rados_osd_op_timeout)
	Retries     int           // rados_connection_retries
	Interval    time.Duration // rados_connection_interval
}

// session is one connection to the cluster with an I/O context on the pool, shared by the
// calls of a driver; refs counts the calls using it.
type session struct {
	conn   *rados.Conn
	ioctx  *rados.IOContext
	refs   int
	broken bool // a call timed out or lost the cluster: no new calls; shut down at refs 0
	used   time.Time
}

func (s *session) close() {
	s.ioctx.Destroy()
	s.conn.Shutdown()
}

// ConnPool keeps one connection to the cluster and reuses it for every call, reference
// counted as ceph-csi's connection pool does: a connection that a call found broken is
// replaced for the next call and shut down when its last user returns it; one idle longer
// than IdleTimeout is shut down.
type ConnPool struct {
	Config      ConnConfig
	IdleTimeout time.Duration

	mu  sync.Mutex
	cur *session
}

// NewConnPool returns a pool for cfg.
func NewConnPool(cfg ConnConfig) *ConnPool {
	return &ConnPool{Config: cfg, IdleTimeout: 15 * time.Minute}
}

// get returns the current session, connecting (with retries) when there is none. The
// caller must give it back with put.
func (p *ConnPool) get(ctx context.Context) (*session, error) {
	p.mu.Lock()
	if s := p.cur; s != nil && !s.broken && time.Since(s.used) < p.IdleTimeout {
		s.refs++
		s.used = time.Now()
		p.mu.Unlock()
		return s, nil
	}
	if s := p.cur; s != nil {
		s.broken = true
		if s.refs == 0 {
			s.close()
		}
		p.cur = nil
	}
	p.mu.Unlock()

	var err error
	for attempt := 0; attempt <= p.Config.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("%w: %v (last error: %v)", ErrUnreachable, ctx.Err(), err)
			case <-time.After(p.Config.Interval):
			}
		}
		var s *session
		if s, err = p.connect(ctx); err == nil {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.cur != nil && !p.cur.broken { // another call connected meanwhile
				s.close()
				s = p.cur
			} else {
				p.cur = s
			}
			s.refs++
			s.used = time.Now()
			return s, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

// put gives s back; broken marks it unusable (a timeout or a lost cluster).
func (p *ConnPool) put(s *session, broken bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.refs--
	if broken {
		s.broken = true
		if p.cur == s {
			p.cur = nil
		}
	}
	if s.broken && s.refs == 0 {
		s.close()
	}
}

// Close shuts the idle connection down; calls under way keep theirs until they return.
func (p *ConnPool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.cur; s != nil {
		s.broken = true
		if s.refs == 0 {
			s.close()
		}
		p.cur = nil
	}
}

// connect makes one connection within the context's deadline. librados calls cannot be
// cancelled: the connection runs in a goroutine bounded by client_mount_timeout, and one
// that arrives after the deadline is shut down.
func (p *ConnPool) connect(ctx context.Context) (*session, error) {
	type result struct {
		s   *session
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := p.dial()
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.s != nil {
				r.s.close()
			}
		}()
		return nil, fmt.Errorf("%w: connecting as %s with %s: %v", ErrUnreachable, p.userName(), p.confName(), ctx.Err())
	}
}

func (p *ConnPool) userName() string {
	if p.Config.User == "" {
		return "client.admin"
	}
	return "client." + p.Config.User
}

func (p *ConnPool) confName() string {
	if p.Config.ConfFile == "" {
		return "librados's default ceph.conf"
	}
	return p.Config.ConfFile
}

func (p *ConnPool) dial() (*session, error) {
	c := p.Config
	conn, err := rados.NewConnWithClusterAndUser(c.ClusterName, p.userName())
	if err != nil {
		return nil, fmt.Errorf("rados: new connection as %s: %w", p.userName(), err)
	}
	if c.ConfFile != "" {
		err = conn.ReadConfigFile(c.ConfFile)
	} else {
		err = conn.ReadDefaultConfigFile()
	}
	if err != nil {
		conn.Shutdown()
		return nil, fmt.Errorf("rados: read %s: %w", p.confName(), err)
	}
	opts := [][2]string{
		{"client_mount_timeout", secs(c.Connect)},
		{"rados_mon_op_timeout", secs(c.OpTimeout)},
		{"rados_osd_op_timeout", secs(c.OpTimeout)},
	}
	if c.Keyring != "" {
		opts = append(opts, [2]string{"keyring", c.Keyring})
	}
	for _, o := range opts {
		if err := conn.SetConfigOption(o[0], o[1]); err != nil {
			conn.Shutdown()
			return nil, fmt.Errorf("rados: set %s=%s: %w", o[0], o[1], err)
		}
	}
	if err := conn.Connect(); err != nil {
		conn.Shutdown()
		return nil, fmt.Errorf("%w: connecting as %s with %s: %v", ErrUnreachable, p.userName(), p.confName(), err)
	}
	ioctx, err := conn.OpenIOContext(c.Pool)
	if err != nil {
		conn.Shutdown()
		return nil, fmt.Errorf("rados: open pool %q: %w", c.Pool, err)
	}
	return &session{conn: conn, ioctx: ioctx}, nil
}

func secs(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}

// lostCluster reports whether err says the connection can no longer be used.
func lostCluster(err error) bool {
	var ce interface{ ErrorCode() int }
	if errors.As(err, &ce) {
		switch ce.ErrorCode() {
		case -110, -107, -108: // ETIMEDOUT, ENOTCONN, ESHUTDOWN
			return true
		}
	}
	return errors.Is(err, ErrUnreachable)
}

// typed marks what librados and librbd answer with the driver's typed errors, keeping the
// message: a missing image or snapshot is driver.ErrNotFound, a full pool or its quota
// driver.ErrNoSpace, a lost cluster driver.ErrUnavailable.
func typed(err error) error {
	var ce interface{ ErrorCode() int }
	switch {
	case err == nil:
		return nil
	case isNotFound(err):
		return driver.Mark(err, driver.ErrNotFound)
	case errors.As(err, &ce) && (ce.ErrorCode() == -28 || ce.ErrorCode() == -122): // ENOSPC, EDQUOT
		return driver.Mark(err, driver.ErrNoSpace)
	case lostCluster(err) && !errors.Is(err, driver.ErrUnavailable):
		return driver.Mark(err, driver.ErrUnavailable)
	}
	return err
}

// do runs fn with a session, bounded by the pool's OpTimeout (or ctx's earlier deadline).
// When the bound passes, do returns ErrUnreachable at once; fn keeps its session until
// librados's own timeouts end it, and the session is not given to new calls.
func (p *ConnPool) do(ctx context.Context, what string, fn func(s *session) error) error {
	ctx, cancel := context.WithTimeout(ctx, p.Config.OpTimeout)
	defer cancel()
	s, err := p.get(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	done := make(chan error, 1)
	go func() {
		err := typed(fn(s))
		p.put(s, lostCluster(err) || ctx.Err() != nil)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		s.broken = true
		if p.cur == s {
			p.cur = nil
		}
		p.mu.Unlock()
		return fmt.Errorf("%s: %w within %s", what, ErrUnreachable, p.Config.OpTimeout)
	}
}
