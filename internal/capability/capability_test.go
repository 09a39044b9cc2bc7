package capability

import "testing"

// TestFit: the CapabilitiesFilter's rules on a pool's capabilities as get_pools shows them.
func TestCapabilitiesFit(t *testing.T) {
	caps := map[string]any{"volume_backend_name": "lvm", "thin_provisioning_support": true, "pool_name": "p", "custom": "x"}
	tests := []struct {
		specs map[string]string
		ok    bool
		why   string
	}{
		{nil, true, ""},
		{map[string]string{"volume_backend_name": "lvm", "qos:read_iops": "100"}, true, ""},
		{map[string]string{"capabilities:thin_provisioning_support": "<is> True"}, true, ""},
		{map[string]string{"volume_backend_name": "gold"}, false, "does not match volume_backend_name=gold"},
		{map[string]string{"replication_enabled": "<is> True"}, false, "has no capability replication_enabled"},
		{map[string]string{"custom": "y"}, false, "does not match custom=y"},
		{map[string]string{"thin_provisioning_support": "True"}, false, `does not match thin_provisioning_support=True (a boolean capability needs "<is> True")`},
		{map[string]string{"a": "x", "volume_backend_name": "gold"}, false, "has no capability a"}, // the first in key order
	}
	for _, tc := range tests {
		ok, why := Fit(caps, tc.specs)
		if ok != tc.ok || why != tc.why {
			t.Errorf("%v: %v %q, want %v %q", tc.specs, ok, why, tc.ok, tc.why)
		}
	}
}

// TestSpecCheck: a list capability matches when one element does, except for <all-in>; scoped
// keys name nested capabilities or none.
func TestSpecCheck(t *testing.T) {
	tests := []struct {
		key, value string
		capability any
		found      bool
		want       bool
		missing    bool
	}{
		{"capabilities:tier", "gold", []any{"silver", "gold"}, true, true, false},
		{"tier", "gold", []any{"silver"}, true, false, false},
		{"tier", "<all-in> a b", []any{"a", "b"}, true, true, false},
		{"tier", "<all-in> a c", []any{"a", "b"}, true, false, false},
		{"capabilities:a:b", "1", nil, false, false, true},
	}
	for _, tc := range tests {
		s, ok := ParseSpec(tc.key, tc.value)
		if !ok {
			t.Fatalf("%s: not a capability", tc.key)
		}
		got, why := s.Check(tc.capability, tc.found)
		if got != tc.want || why.Missing != tc.missing {
			t.Errorf("%s=%s on %v: %v %+v, want %v (missing %v)", tc.key, tc.value, tc.capability, got, why, tc.want, tc.missing)
		}
	}
	for _, key := range []string{"qos:read_iops", "RESKEY:x", "vendor:y"} {
		if _, ok := ParseSpec(key, "1"); ok {
			t.Errorf("%s names a capability", key)
		}
	}
	if s, _ := ParseSpec("capabilities:a:b", "1"); len(s.Path) != 2 || s.Path[0] != "a" || s.Display != "capabilities:a:b=1" {
		t.Errorf("ParseSpec(capabilities:a:b) = %+v", s)
	}
}

// TestBackendDown reads backend_state as Cinder's drivers report it.
func TestBackendDown(t *testing.T) {
	tests := []struct {
		caps map[string]any
		want bool
	}{
		{map[string]any{}, false},
		{map[string]any{"backend_state": "up"}, false},
		{map[string]any{"backend_state": "down"}, true},
		{map[string]any{"backend_state": " Down "}, true},
		{map[string]any{"backend_state": false}, false},
	}
	for _, tc := range tests {
		if got := BackendDown(tc.caps); got != tc.want {
			t.Errorf("BackendDown(%v) = %v, want %v", tc.caps, got, tc.want)
		}
	}
}
