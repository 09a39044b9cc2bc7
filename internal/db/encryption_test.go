package db

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/scoria/scoria/internal/resource"
)

func TestVolumeTypeEncryptionLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		vt := &resource.VolumeType{ID: "22222222-0000-0000-0000-000000000001", Name: "luks", IsPublic: true}
		if err := s.CreateVolumeType(ctx, vt); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetVolumeTypeEncryption(ctx, vt.ID); !errors.Is(err, resource.ErrEncryptionNotFound) {
			t.Fatalf("get before create: %v, want ErrEncryptionNotFound", err)
		}
		cipher, size := "aes-xts-plain64", 256
		e := &resource.Encryption{VolumeTypeID: vt.ID, Provider: "luks", Cipher: &cipher, KeySize: &size, ControlLocation: "front-end"}
		if err := s.CreateVolumeTypeEncryption(ctx, e); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetVolumeTypeEncryption(ctx, vt.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != e.ID || got.ID == "" || got.Provider != "luks" || *got.Cipher != cipher || *got.KeySize != 256 ||
			got.ControlLocation != "front-end" || got.UpdatedAt != nil || got.CreatedAt.IsZero() {
			t.Fatalf("read back %+v, want %+v", got, e)
		}

		again := &resource.Encryption{VolumeTypeID: vt.ID, Provider: "luks", ControlLocation: "front-end"}
		if err := s.CreateVolumeTypeEncryption(ctx, again); !errors.Is(err, resource.ErrEncryptionExists) {
			t.Fatalf("second create: %v, want ErrEncryptionExists", err)
		}
		missing := &resource.Encryption{VolumeTypeID: "no-such-type", Provider: "luks", ControlLocation: "front-end"}
		if err := s.CreateVolumeTypeEncryption(ctx, missing); !errors.Is(err, resource.ErrNotFound) {
			t.Fatalf("create for a missing type: %v, want not found", err)
		}

		// Update: a nullable field set to null, another left alone.
		loc := "back-end"
		up, err := s.UpdateVolumeTypeEncryption(ctx, vt.ID, resource.EncryptionUpdate{ControlLocation: &loc, SetCipher: true})
		if err != nil {
			t.Fatal(err)
		}
		if up.Cipher != nil || up.KeySize == nil || *up.KeySize != 256 || up.ControlLocation != "back-end" || up.Provider != "luks" || up.UpdatedAt == nil {
			t.Fatalf("after update: %+v", up)
		}

		// A volume of the type freezes its encryption.
		v := volume("p", func(v *resource.Volume) { v.VolumeTypeID = vt.ID; v.EncryptionKeyID = "key-1" })
		mustCreate(t, s, v)
		rv, err := s.GetVolume(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rv.EncryptionKeyID != "key-1" {
			t.Fatalf("volume's key id = %q, want key-1", rv.EncryptionKeyID)
		}
		changes := map[string]func() error{
			"create": func() error {
				return s.CreateVolumeTypeEncryption(ctx, &resource.Encryption{VolumeTypeID: vt.ID, Provider: "p", ControlLocation: "front-end"})
			},
			"update": func() error {
				_, err := s.UpdateVolumeTypeEncryption(ctx, vt.ID, resource.EncryptionUpdate{ControlLocation: &loc})
				return err
			},
			"delete": func() error { return s.DeleteVolumeTypeEncryption(ctx, vt.ID) },
		}
		for name, change := range changes {
			if err := change(); !errors.Is(err, resource.ErrVolumeTypeInUse) {
				t.Errorf("%s while a volume uses the type: %v, want ErrVolumeTypeInUse", name, err)
			}
		}
		if err := s.DestroyVolume(ctx, v.ID, []string{resource.StatusAvailable}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteVolumeTypeEncryption(ctx, vt.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteVolumeTypeEncryption(ctx, vt.ID); !errors.Is(err, resource.ErrEncryptionNotFound) {
			t.Fatalf("second delete: %v, want ErrEncryptionNotFound", err)
		}
		if err := s.DeleteVolumeTypeEncryption(ctx, "no-such-type"); !errors.Is(err, resource.ErrEncryptionNotFound) {
			t.Fatalf("delete for a missing type: %v, want ErrEncryptionNotFound", err)
		}
		if _, err := s.UpdateVolumeTypeEncryption(ctx, vt.ID, resource.EncryptionUpdate{ControlLocation: &loc}); !errors.Is(err, resource.ErrEncryptionNotFound) {
			t.Fatalf("update after delete: %v, want ErrEncryptionNotFound", err)
		}
		// Soft-deleted: a new one may be made.
		if err := s.CreateVolumeTypeEncryption(ctx, &resource.Encryption{VolumeTypeID: vt.ID, Provider: "luks", ControlLocation: "front-end"}); err != nil {
			t.Fatalf("create after delete: %v", err)
		}
		if n := countRows(t, s, "encryption"); n != 2 {
			t.Fatalf("%d encryption rows, want 2 (one soft-deleted)", n)
		}
		// Deleting the type deletes its encryption.
		if err := s.DeleteVolumeType(ctx, vt.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetVolumeTypeEncryption(ctx, vt.ID); !errors.Is(err, resource.ErrEncryptionNotFound) {
			t.Fatalf("encryption of a deleted type: %v, want ErrEncryptionNotFound", err)
		}
	})
}

func TestEncryptionKeyUse(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a := volume("p", func(v *resource.Volume) { v.EncryptionKeyID = "key-a" })
		b := volume("p", func(v *resource.Volume) { v.EncryptionKeyID = "key-b" })
		plain := volume("p")
		for _, v := range []*resource.Volume{a, b, plain} {
			mustCreate(t, s, v)
		}
		sn := &resource.Snapshot{ProjectID: "p", UserID: "u", VolumeID: a.ID}
		if _, err := s.CreateSnapshot(ctx, sn, []string{resource.StatusAvailable}); err != nil {
			t.Fatal(err)
		}
		plainSn := &resource.Snapshot{ProjectID: "p", UserID: "u", VolumeID: plain.ID}
		if _, err := s.CreateSnapshot(ctx, plainSn, []string{resource.StatusAvailable}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			snapshot, want string
		}{{sn.ID, "key-a"}, {plainSn.ID, ""}, {"no-such-snapshot", ""}} {
			got, err := s.SnapshotEncryptionKey(ctx, c.snapshot)
			if err != nil || got != c.want {
				t.Errorf("SnapshotEncryptionKey(%s) = %q, %v; want %q", c.snapshot, got, err, c.want)
			}
		}
		// A volume that shares a's key (as Cinder's volumes from one image may).
		shared := volume("p", func(v *resource.Volume) { v.EncryptionKeyID = "key-b" })
		mustCreate(t, s, shared)
		for _, c := range []struct {
			name, key, volume string
			want              bool
		}{
			{"only its own snapshot", "key-a", a.ID, false},
			{"another volume's snapshot", "key-a", b.ID, true},
			{"another volume", "key-b", b.ID, true},
			{"unknown key", "key-z", a.ID, false},
		} {
			t.Run(c.name, func(t *testing.T) {
				got, err := s.EncryptionKeyInUse(ctx, c.key, c.volume)
				if err != nil || got != c.want {
					t.Fatalf("EncryptionKeyInUse(%s, %s) = %v, %v; want %v", c.key, c.volume, got, err, c.want)
				}
			})
		}
		if err := s.DestroyVolume(ctx, shared.ID, []string{resource.StatusAvailable}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.EncryptionKeyInUse(ctx, "key-b", b.ID); err != nil || got {
			t.Fatalf("after the other volume's delete: in use = %v, %v; want false", got, err)
		}
	})
}

// TestVolumeTypeEncryptionCreateRace: concurrent creates of one type's encryption leave one
// live row; every other create is told the encryption exists.
func TestVolumeTypeEncryptionCreateRace(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		vt := &resource.VolumeType{ID: "22222222-0000-0000-0000-000000000009", Name: "raced", IsPublic: true}
		if err := s.CreateVolumeType(ctx, vt); err != nil {
			t.Fatal(err)
		}
		const n = 8
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = s.CreateVolumeTypeEncryption(ctx, &resource.Encryption{VolumeTypeID: vt.ID, Provider: "luks", ControlLocation: "front-end"})
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, resource.ErrEncryptionExists):
				t.Errorf("create: %v, want nil or ErrEncryptionExists", err)
			}
		}
		var live int
		if err := s.db.QueryRow("SELECT COUNT(*) FROM encryption WHERE volume_type_id = ? AND deleted = 0", vt.ID).Scan(&live); err != nil {
			t.Fatal(err)
		}
		if won != 1 || live != 1 {
			t.Fatalf("%d creates won, %d live rows; want 1 and 1", won, live)
		}
	})
}
