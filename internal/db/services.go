package db

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/scoria/scoria/internal/resource"
)

const serviceSelect = "SELECT id, host, `binary`, topic, availability_zone, disabled, disabled_reason, report_count, created_at, updated_at FROM services"

func scanService(sc scanner) (*resource.Service, error) {
	var (
		svc              resource.Service
		reason           sql.NullString
		created, updated nullTime
	)
	if err := sc.Scan(&svc.ID, &svc.Host, &svc.Binary, &svc.Topic, &svc.AvailabilityZone,
		&svc.Disabled, &reason, &svc.ReportCount, &created, &updated); err != nil {
		return nil, err
	}
	svc.DisabledReason, svc.CreatedAt, svc.UpdatedAt = reason.String, created.Time, updated.Ptr()
	return &svc, nil
}

// RegisterService records that svc (by Binary and Host) is running, and returns its row. A
// service seen before keeps its row, id, report count and disabled flag; its topic and zone
// are updated and updated_at set to now. A new one is inserted with svc's Disabled and
// DisabledReason.
func (s *Store) RegisterService(ctx context.Context, svc *resource.Service) (*resource.Service, error) {
	now := dbTime(s.now())
	// Update, else insert; an insert that loses a race with another process's insert updates.
	for attempt := 0; ; attempt++ {
		res, err := s.db.ExecContext(ctx, "UPDATE services SET topic = ?, availability_zone = ?, updated_at = ?, deleted = 0, deleted_at = NULL WHERE `binary` = ? AND host = ?",
			svc.Topic, svc.AvailabilityZone, now, svc.Binary, svc.Host)
		if err != nil {
			return nil, fmt.Errorf("register service %s on %s: %w", svc.Binary, svc.Host, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, err
		} else if n > 0 {
			break
		}
		_, err = s.db.ExecContext(ctx, "INSERT INTO services (host, `binary`, topic, availability_zone, disabled, disabled_reason, report_count, created_at, updated_at, deleted) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, 0)",
			svc.Host, svc.Binary, svc.Topic, svc.AvailabilityZone, svc.Disabled, nullString(svc.DisabledReason), now, now)
		if err == nil {
			break
		}
		if !isDuplicate(err) || attempt > 0 {
			return nil, fmt.Errorf("register service %s on %s: %w", svc.Binary, svc.Host, err)
		}
	}
	got, err := scanService(s.db.QueryRowContext(ctx, serviceSelect+" WHERE `binary` = ? AND host = ?", svc.Binary, svc.Host))
	if err != nil {
		return nil, fmt.Errorf("register service %s on %s: %w", svc.Binary, svc.Host, err)
	}
	return got, nil
}

// ServiceHeartbeat counts one report of service id and sets its updated_at to now. A missing
// service is a *resource.NotFoundError.
func (s *Store) ServiceHeartbeat(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx,
		"UPDATE services SET report_count = report_count + 1, updated_at = ? WHERE id = ? AND deleted = 0",
		dbTime(s.now()), id)
	if err != nil {
		return fmt.Errorf("service %d heartbeat: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return &resource.NotFoundError{Kind: "Service", ID: strconv.FormatInt(id, 10)}
	}
	return nil
}

// ListServices returns the services f selects, by id.
func (s *Store) ListServices(ctx context.Context, f resource.ServiceFilter) ([]*resource.Service, error) {
	where, args := []string{"deleted = 0"}, []any(nil)
	if f.Binary != "" {
		where, args = append(where, "`binary` = ?"), append(args, f.Binary)
	}
	if f.Host != "" {
		where, args = append(where, "host = ?"), append(args, f.Host)
	}
	rows, err := s.ro.QueryContext(ctx, serviceSelect+" WHERE "+strings.Join(where, " AND ")+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	defer rows.Close()
	var out []*resource.Service
	for rows.Next() {
		svc, err := scanService(rows)
		if err != nil {
			return nil, fmt.Errorf("list services: %w", err)
		}
		out = append(out, svc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	return out, nil
}
