// Package keymanager holds the keys of encrypted volumes, as Cinder's castellan key manager
// does: Manager (create a key, copy one, read one, delete one, each with the caller's
// Keystone token), New, which picks the backend of [key_manager] backend, and the Barbican
// client (Key Manager API v1: key orders, secrets and their payloads), found through
// [barbican] barbican_endpoint or the Keystone catalog's key-manager service. Without a key
// manager (any other backend) every call fails with ErrNoKeyManager.
package keymanager

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// Manager creates, copies, reads and deletes keys. Token is the caller's Keystone token: the
// keys belong to the caller's project, as castellan's do with Cinder's user context.
type Manager interface {
	// CreateKey makes a new symmetric key of algorithm (e.g. "aes") and bits and returns its id.
	CreateKey(ctx context.Context, token, algorithm string, bits int) (string, error)
	// CopyKey stores a copy of key id and returns the copy's id (castellan's
	// store(get(id)), Cinder's clone_encryption_key).
	CopyKey(ctx context.Context, token, id string) (string, error)
	// GetKey reads key id: ErrNotFound when the key manager has no such key.
	GetKey(ctx context.Context, token, id string) (*Key, error)
	// DeleteKey deletes key id: ErrNotFound when the key manager has no such key.
	DeleteKey(ctx context.Context, token, id string) error
}

// Key is a symmetric key.
type Key struct {
	ID        string
	Algorithm string
	Bits      int
	Material  []byte
}

var (
	// ErrNoKeyManager: no key manager is configured ([key_manager] backend is not barbican).
	ErrNoKeyManager = errors.New("no key manager configured")
	// ErrNotFound: the key manager has no such key.
	ErrNotFound = errors.New("key not found")
)

// Config is what New needs: the [key_manager] and [barbican] options.
type Config struct {
	Backend      string        // [key_manager] backend: "barbican" (or castellan's class path)
	Endpoint     string        // [barbican] barbican_endpoint; "" finds it in the catalog
	APIVersion   string        // [barbican] barbican_api_version, "v1"
	AuthEndpoint string        // [barbican] auth_endpoint: Keystone's URL, for the catalog
	EndpointType string        // [barbican] barbican_endpoint_type: public, internal, admin
	RegionName   string        // [barbican] barbican_region_name; "" any
	Retries      int           // [barbican] number_of_retries: polls of a key order
	RetryDelay   time.Duration // [barbican] retry_delay between polls
	// Client makes the HTTP requests; nil is a client with a 30 s timeout.
	Client *http.Client
	Log    logrus.FieldLogger
}

// barbicanBackends are the [key_manager] backend values that name Barbican.
var barbicanBackends = []string{"barbican", "castellan.key_manager.barbican_key_manager.BarbicanKeyManager"}

// New returns the key manager cfg names: Barbican, or one whose every call fails with
// ErrNoKeyManager (logged once here).
func New(cfg Config) Manager {
	if cfg.Log == nil {
		l := logrus.New()
		l.Out = nilWriter{}
		cfg.Log = l
	}
	for _, b := range barbicanBackends {
		if strings.EqualFold(strings.TrimSpace(cfg.Backend), b) {
			return newBarbican(cfg)
		}
	}
	cfg.Log.WithField("backend", cfg.Backend).Warn("no key manager: [key_manager] backend is not barbican; encrypted volumes cannot be created")
	return none{}
}

type nilWriter struct{}

func (nilWriter) Write(p []byte) (int, error) { return len(p), nil }

// none is the key manager of a configuration without one.
type none struct{}

func (none) CreateKey(context.Context, string, string, int) (string, error) {
	return "", ErrNoKeyManager
}
func (none) CopyKey(context.Context, string, string) (string, error) { return "", ErrNoKeyManager }
func (none) GetKey(context.Context, string, string) (*Key, error)    { return nil, ErrNoKeyManager }
func (none) DeleteKey(context.Context, string, string) error         { return ErrNoKeyManager }
