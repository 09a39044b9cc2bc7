// Package service is what every Scoria daemon shares: its row in the services table with a
// heartbeat every report_interval, and process start-up (logging, signals).
package service

import (
	"context"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/resource"
)

// Store is what the heartbeat needs of the database.
type Store interface {
	RegisterService(ctx context.Context, svc *resource.Service) (*resource.Service, error)
	ServiceHeartbeat(ctx context.Context, id int64) error
}

// Heartbeat keeps one service's row fresh, so others see it "up".
type Heartbeat struct {
	Store    Store
	Service  resource.Service // Binary, Host, Topic, AvailabilityZone
	Interval time.Duration    // report_interval
	Log      logrus.FieldLogger

	id int64
}

// Register writes (or refreshes) the service row.
func (h *Heartbeat) Register(ctx context.Context) error {
	svc := h.Service
	row, err := h.Store.RegisterService(ctx, &svc)
	if err != nil {
		return fmt.Errorf("register service %s on %s: %w", h.Service.Binary, h.Service.Host, err)
	}
	h.id = row.ID
	h.Log.WithFields(logrus.Fields{"binary": row.Binary, "host": row.Host, "zone": row.AvailabilityZone}).Info("service registered")
	return nil
}

// Run beats every Interval until ctx ends. A failed beat is logged and retried next time; a
// row that vanished is registered again.
func (h *Heartbeat) Run(ctx context.Context) {
	t := time.NewTicker(h.Interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := h.Store.ServiceHeartbeat(ctx, h.id)
		if err != nil && ctx.Err() == nil {
			err = h.Register(ctx)
		}
		switch {
		case err != nil && ctx.Err() == nil:
			if !failing {
				h.Log.WithError(err).Warn("heartbeat failed; the service will show as down if this lasts")
			}
			failing = true
		case err == nil && failing:
			h.Log.Info("heartbeat recovered")
			failing = false
		}
	}
}
