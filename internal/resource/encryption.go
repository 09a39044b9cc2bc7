package resource

import (
	"errors"
	"time"
)

// Encryption is a volume type's encryption (Cinder's `encryption` row): volumes of the type
// are encrypted with a key the key manager makes per volume. Cipher and KeySize are nil
// when not given, as Cinder stores NULL; Provider and ControlLocation are required.
type Encryption struct {
	ID              string // encryption_id
	VolumeTypeID    string
	Provider        string
	Cipher          *string
	KeySize         *int
	ControlLocation string // "front-end" or "back-end"
	CreatedAt       time.Time
	UpdatedAt       *time.Time
}

// EncryptionUpdate changes a type's encryption; nil fields stay as they are, and the
// Set… flags say a nullable field is set (to the pointer's value, nil for NULL).
type EncryptionUpdate struct {
	Provider        *string
	ControlLocation *string
	Cipher          *string
	SetCipher       bool
	KeySize         *int
	SetKeySize      bool
}

// Errors of volume type encryption changes, wrapped by the store with the type's id.
var (
	// ErrEncryptionExists: the type already has an encryption.
	ErrEncryptionExists = errors.New("volume type encryption exists")
	// ErrEncryptionNotFound: the type has no encryption.
	ErrEncryptionNotFound = errors.New("volume type encryption not found")
)
