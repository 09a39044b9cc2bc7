package volumeio

import (
	"bufio"
	"fmt"
	"net"
	"strings"
)

// parseRBD reads os-brick's rbd connection info: name (pool/image), hosts and ports (the
// monitors), cluster_name (ceph when absent), auth_username and keyring (the contents of
// the user's keyring, when the backend hands them out).
func parseRBD(data connData) (RBDImage, error) {
	var r RBDImage
	name, err := data.required("name")
	if err != nil {
		return r, err
	}
	pool, image, ok := strings.Cut(name, "/")
	if !ok || pool == "" || image == "" || strings.Contains(image, "/") {
		return r, fmt.Errorf("connection info name %q is not pool/image", name)
	}
	r.Pool, r.Image = pool, image
	if r.ClusterName, err = data.str("cluster_name"); err != nil {
		return r, err
	}
	if r.ClusterName == "" {
		r.ClusterName = "ceph"
	}
	hosts, err := data.strings("hosts")
	if err != nil {
		return r, err
	}
	ports, err := data.strings("ports")
	if err != nil {
		return r, err
	}
	if len(ports) != len(hosts) {
		return r, fmt.Errorf("connection info has %d hosts and %d ports", len(hosts), len(ports))
	}
	for i, h := range hosts {
		r.Monitors = append(r.Monitors, net.JoinHostPort(strings.Trim(h, "[]"), ports[i]))
	}
	if r.User, err = data.str("auth_username"); err != nil {
		return r, err
	}
	if r.Keyring, err = data.str("keyring"); err != nil {
		return r, err
	}
	return r, nil
}

// keyringKey is the secret key in a keyring's contents (the key = line of its first
// section), "" when it has none.
func keyringKey(keyring string) string {
	sc := bufio.NewScanner(strings.NewReader(keyring))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if ok && strings.TrimSpace(k) == "key" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
