package db

import (
	"context"
	"fmt"
)

// CountVolumesByHost returns the number of volumes that are not deleted per host
// (host@backend#pool), for the scheduler's VolumeNumberWeigher: one GROUP BY over the
// (host, status) index.
func (s *Store) CountVolumesByHost(ctx context.Context) (map[string]int, error) {
	rows, err := s.ro.QueryContext(ctx, "SELECT host, COUNT(*) FROM volumes WHERE deleted = 0 AND host IS NOT NULL GROUP BY host")
	if err != nil {
		return nil, fmt.Errorf("count volumes per host: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			host string
			n    int
		)
		if err := rows.Scan(&host, &n); err != nil {
			return nil, fmt.Errorf("count volumes per host: %w", err)
		}
		out[host] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count volumes per host: %w", err)
	}
	return out, nil
}
