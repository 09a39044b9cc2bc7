package volumeio

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseRBD(t *testing.T) {
	cases := []struct {
		name string
		data connData
		want RBDImage
		err  string
	}{
		{"as the rbd backend answers", connData{"name": "volumes/volume-1", "hosts": []any{"127.0.0.1", "::1"}, "ports": []any{"6789", "3300"},
			"cluster_name": "ceph", "auth_username": "cinder", "keyring": "[client.cinder]\n\tkey = QQ==\n"},
			RBDImage{ClusterName: "ceph", Pool: "volumes", Image: "volume-1", Monitors: []string{"127.0.0.1:6789", "[::1]:3300"}, User: "cinder", Keyring: "[client.cinder]\n\tkey = QQ==\n"}, ""},
		{"no auth, no monitors", connData{"name": "p/i", "auth_username": nil}, RBDImage{ClusterName: "ceph", Pool: "p", Image: "i"}, ""},
		{"no name", connData{}, RBDImage{}, "no name"},
		{"name without pool", connData{"name": "volume-1"}, RBDImage{}, "not pool/image"},
		{"name with a namespace", connData{"name": "p/ns/i"}, RBDImage{}, "not pool/image"},
		{"ports missing", connData{"name": "p/i", "hosts": []any{"h"}}, RBDImage{}, "1 hosts and 0 ports"},
		{"hosts not a list", connData{"name": "p/i", "hosts": "h"}, RBDImage{}, "not a list"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRBD(tc.data)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestKeyringKey(t *testing.T) {
	for in, want := range map[string]string{
		"[client.cinder]\n\tkey = AQB==\n\tcaps mon = \"profile rbd\"\n": "AQB==",
		"[client.x]\nkey=K1\n[client.y]\nkey = K2\n":                     "K1",
		"[client.x]\n\tcaps mon = x\n":                                   "",
		"":                                                               "",
	} {
		if got := keyringKey(in); got != want {
			t.Errorf("keyringKey(%q) = %q, want %q", in, got, want)
		}
	}
}
