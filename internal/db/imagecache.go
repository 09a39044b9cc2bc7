package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/resource"
)

// The image-volume cache's entries (Cinder's image_volume_cache_entries). An entry is written
// in the transaction that inserts its cache volume (in creating), and removed in the one that
// deletes it (destroyVolume), so an entry never outlives its volume; (host, image_id) is
// unique, so two creates of one image at once cannot both cache it.

const imageCacheSelect = `SELECT e.id, e.host, e.image_id, e.image_updated_at, e.volume_id, e.size,
	e.last_used, v.status
FROM image_volume_cache_entries e JOIN volumes v ON v.id = e.volume_id AND v.deleted = 0`

func scanImageCacheEntry(sc scanner) (resource.ImageCacheEntry, error) {
	var (
		e                 resource.ImageCacheEntry
		updated, lastUsed nullTime
	)
	if err := sc.Scan(&e.ID, &e.Host, &e.ImageID, &updated, &e.VolumeID, &e.Size, &lastUsed, &e.VolumeStatus); err != nil {
		return e, err
	}
	if t := updated.Ptr(); t != nil {
		e.ImageUpdatedAt = *t
	}
	if t := lastUsed.Ptr(); t != nil {
		e.LastUsed = *t
	}
	return e, nil
}

// ImageCacheEntry returns the entry of image imageID on host (host@backend#pool) with its
// volume's status, or nil when there is none.
func (s *Store) ImageCacheEntry(ctx context.Context, host, imageID string) (*resource.ImageCacheEntry, error) {
	e, err := scanImageCacheEntry(s.db.QueryRowContext(ctx, imageCacheSelect+" WHERE e.host = ? AND e.image_id = ?", host, imageID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image cache entry of image %s on %s: %w", imageID, host, err)
	}
	return &e, nil
}

// ImageCacheEntries returns the entries on host, most recently used first (Cinder's
// image_volume_cache_get_all): what an eviction walks from the end.
func (s *Store) ImageCacheEntries(ctx context.Context, host string) ([]resource.ImageCacheEntry, error) {
	rows, err := s.db.QueryContext(ctx, imageCacheSelect+" WHERE e.host = ? ORDER BY e.last_used DESC, e.id DESC", host)
	if err != nil {
		return nil, fmt.Errorf("image cache entries on %s: %w", host, err)
	}
	defer rows.Close()
	var out []resource.ImageCacheEntry
	for rows.Next() {
		e, err := scanImageCacheEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("image cache entries on %s: %w", host, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("image cache entries on %s: %w", host, err)
	}
	return out, nil
}

// TouchImageCacheEntry sets the last use of entry id to now (a volume was cloned from it). An
// entry gone meanwhile is not an error.
func (s *Store) TouchImageCacheEntry(ctx context.Context, id int64) error {
	if _, err := s.db.ExecContext(ctx, "UPDATE image_volume_cache_entries SET last_used = ? WHERE id = ?", dbTime(s.now()), id); err != nil {
		return fmt.Errorf("touch image cache entry %d: %w", id, err)
	}
	return nil
}

// CreateImageCacheVolume inserts the cache volume v and its entry e in one transaction: v as
// CreateVolume does (its defaults filled in, status creating unless set, charged to its
// project's quota: a *resource.OverQuotaError writes nothing), e for v (e.VolumeID, Size and
// Host are v's; LastUsed now; e.ID set). When image e.ImageID is cached on e.Host already,
// nothing is written and the error wraps resource.ErrConflict.
func (s *Store) CreateImageCacheVolume(ctx context.Context, v *resource.Volume, e *resource.ImageCacheEntry) error {
	if v.ID == "" {
		v.ID = uuid.NewString()
	}
	if v.Status == "" {
		v.Status = resource.StatusCreating
	}
	if v.AttachStatus == "" {
		v.AttachStatus = resource.AttachDetached
	}
	now := s.now()
	if v.CreatedAt.IsZero() {
		v.CreatedAt = now
	} else {
		v.CreatedAt = v.CreatedAt.UTC().Truncate(time.Microsecond)
	}
	e.VolumeID, e.Size, e.Host, e.LastUsed = v.ID, v.Size, v.Host, now
	e.ImageUpdatedAt = e.ImageUpdatedAt.UTC().Truncate(time.Microsecond)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.insertVolume(ctx, tx, v, now); err != nil {
			return err
		}
		// Its size is claimed on its pool as any volume's, so the pool's allocated capacity
		// counts it and its delete gives it back.
		if err := claimOnPool(ctx, tx, v); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE volumes SET claimed_gb = ? WHERE id = ?", v.Size, v.ID); err != nil {
			return err
		}
		// The entry of a cache volume that was deleted stays until here (a volume's delete
		// does not look for entries: that would cost every delete a statement; lookups join
		// live volumes only, so such an entry is never used): it gives way to the new one.
		if _, err := tx.ExecContext(ctx, `DELETE FROM image_volume_cache_entries WHERE host = ? AND image_id = ?
			AND volume_id IN (SELECT id FROM volumes WHERE deleted = 1)`, e.Host, e.ImageID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO image_volume_cache_entries
			(host, image_id, image_updated_at, volume_id, size, last_used) VALUES (?, ?, ?, ?, ?, ?)`,
			e.Host, e.ImageID, dbTime(e.ImageUpdatedAt), e.VolumeID, e.Size, dbTime(now))
		if isDuplicate(err) {
			return fmt.Errorf("image %s is cached on %s already: %w", e.ImageID, e.Host, resource.ErrConflict)
		}
		if err != nil {
			return err
		}
		e.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return fmt.Errorf("create image cache volume %s: %w", v.ID, err)
	}
	e.VolumeStatus = v.Status
	return nil
}
