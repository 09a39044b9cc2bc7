// Package glance is Scoria's client of the OpenStack Image service (Glance, Image API v2): what
// Cinder's cinder/image/glance.py does for volumes made from images and volumes uploaded to
// images. It holds the configuration Cinder reads ([DEFAULT] glance_api_servers,
// glance_catalog_info, glance_num_retries, glance_request_timeout, glance_api_insecure,
// glance_ca_certificates_file and [glance] region_name); finding the endpoint in those servers
// or in the caller's Keystone catalog; the image record (Image, with Cinder's split of base
// fields and custom properties, locations and direct_url); the calls Show, Create, Upload,
// Download (streamed, bounded memory, checksum verified at EOF), Update (JSON patch), Delete,
// Deactivate and Reactivate, each sent with the user's token and an optional service token;
// retries of connection errors and unavailable answers; and typed errors (ErrNotFound,
// ErrForbidden, ErrUnavailable, …) to test with errors.Is.
package glance

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// Defaults of Cinder's options.
const (
	DefaultCatalogInfo    = "image:glance:publicURL"
	DefaultNumRetries     = 3
	DefaultRequestTimeout = 60 * time.Second
)

// Config is what Cinder reads for Glance: [DEFAULT] glance_* options and [glance] region_name.
type Config struct {
	// APIServers is glance_api_servers ("host:port" or URLs); empty: the catalog.
	APIServers []string
	// CatalogInfo is glance_catalog_info, <service_type>:<service_name>:<endpoint_type>
	// (default image:glance:publicURL). As in Cinder only the type and the endpoint type
	// choose the endpoint; the name is not compared.
	CatalogInfo string
	// RegionName is [glance] region_name: the catalog endpoint's region ("" any).
	RegionName string
	// AuthURL is Keystone's URL (e.g. http://127.0.0.1:5000/v3), where the catalog is read
	// (GET /v3/auth/catalog with the user's token) when neither APIServers nor the caller's
	// Auth.Catalog give the endpoint.
	AuthURL string
	// NumRetries is glance_num_retries: how many times a call is tried again after a
	// connection error or an unavailable answer (502, 503, 504). Negative: 0. Set -1 for none;
	// 0 means the default (3).
	NumRetries int
	// RequestTimeout is glance_request_timeout: the bound of each metadata call, of the wait
	// for the answer to a data transfer, and of any pause inside a transfer (a stalled
	// download or upload fails after it). Default 60 s.
	RequestTimeout time.Duration
	// Insecure is glance_api_insecure: do not verify Glance's TLS certificate.
	Insecure bool
	// CAFile is glance_ca_certificates_file: PEM certificates to verify Glance with.
	CAFile string
	// RetryDelay is the pause between attempts (Cinder: 1 s).
	RetryDelay time.Duration
	// HTTPClient replaces the client built from the options above (tests). Its Timeout must
	// be 0: the client bounds metadata calls itself and must not cut long transfers.
	HTTPClient *http.Client
	// Log receives retries and failures (default: logrus' standard logger).
	Log logrus.FieldLogger
}

// Auth is who a call is made for: the user's token (X-Auth-Token), an optional service token
// (X-Service-Token, as Cinder sends with send_service_user_token), the caller's catalog when
// the request carried one, and the global request id (X-OpenStack-Request-ID).
type Auth struct {
	Token           string
	ServiceToken    string
	Catalog         []CatalogService
	GlobalRequestID string
}

// CatalogService is one service of a Keystone catalog (token body or GET /v3/auth/catalog).
type CatalogService struct {
	Type      string            `json:"type"`
	Name      string            `json:"name"`
	Endpoints []CatalogEndpoint `json:"endpoints"`
}

// CatalogEndpoint is one endpoint of a catalog service.
type CatalogEndpoint struct {
	Interface string `json:"interface"`
	RegionID  string `json:"region_id"`
	Region    string `json:"region"`
	URL       string `json:"url"`
}

// Client talks to Glance. Safe for concurrent use.
type Client struct {
	cfg         Config
	http        *http.Client
	log         logrus.FieldLogger
	serviceType string
	iface       string
}

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.CatalogInfo == "" {
		cfg.CatalogInfo = DefaultCatalogInfo
	}
	parts := strings.Split(cfg.CatalogInfo, ":")
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return nil, fmt.Errorf("glance: glance_catalog_info %q: must be <service_type>:<service_name>:<endpoint_type>", cfg.CatalogInfo)
	}
	iface, err := interfaceOf(parts[2])
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.NumRetries == 0:
		cfg.NumRetries = DefaultNumRetries
	case cfg.NumRetries < 0:
		cfg.NumRetries = 0
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = time.Second
	}
	for _, s := range cfg.APIServers {
		if strings.TrimSpace(s) == "" {
			return nil, errors.New("glance: glance_api_servers has an empty entry")
		}
	}
	c := &Client{cfg: cfg, http: cfg.HTTPClient, log: cfg.Log, serviceType: parts[0], iface: iface}
	if c.log == nil {
		c.log = logrus.StandardLogger()
	}
	if c.http == nil {
		if c.http, err = newHTTPClient(cfg); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// interfaceOf turns Cinder's endpoint types (publicURL, internalURL, adminURL) and Keystone
// v3's interfaces into an interface.
func interfaceOf(endpointType string) (string, error) {
	switch strings.TrimSuffix(endpointType, "URL") {
	case "public":
		return "public", nil
	case "internal":
		return "internal", nil
	case "admin":
		return "admin", nil
	}
	return "", fmt.Errorf("glance: glance_catalog_info: unknown endpoint type %q (publicURL, internalURL or adminURL)", endpointType)
}

func newHTTPClient(cfg Config) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = cfg.RequestTimeout
	tlsc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.Insecure} //nolint:gosec // glance_api_insecure is the operator's choice
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("glance: glance_ca_certificates_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("glance: glance_ca_certificates_file %s: no PEM certificate in it", cfg.CAFile)
		}
		tlsc.RootCAs = pool
	}
	tr.TLSClientConfig = tlsc
	return &http.Client{Transport: tr}, nil
}

// servers returns the base URLs to try, in the order of attempts: glance_api_servers
// shuffled (as Cinder), or the catalog's endpoint.
func (c *Client) servers(ctx context.Context, a Auth) ([]string, error) {
	if len(c.cfg.APIServers) > 0 {
		s := make([]string, len(c.cfg.APIServers))
		for i, v := range c.cfg.APIServers {
			s[i] = normalizeServer(v)
		}
		rand.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		return s, nil
	}
	catalog := a.Catalog
	if catalog == nil {
		var err error
		if catalog, err = c.readCatalog(ctx, a); err != nil {
			return nil, err
		}
	}
	for _, svc := range catalog {
		if svc.Type != c.serviceType {
			continue
		}
		for _, ep := range svc.Endpoints {
			if ep.Interface != c.iface {
				continue
			}
			if c.cfg.RegionName != "" && ep.RegionID != c.cfg.RegionName && ep.Region != c.cfg.RegionName {
				continue
			}
			return []string{normalizeServer(ep.URL)}, nil
		}
		break // Cinder looks at the first service of the type only
	}
	return nil, fmt.Errorf("glance: the catalog has no %s endpoint of type %s (region %q): %w",
		c.iface, c.serviceType, c.cfg.RegionName, ErrNoEndpoint)
}

// normalizeServer adds http:// to "host:port" and drops a trailing version (/v2) and slash.
func normalizeServer(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "//") {
		s = "http://" + s
	}
	s = strings.TrimRight(s, "/")
	s = strings.TrimSuffix(s, "/v2")
	return strings.TrimRight(s, "/")
}
