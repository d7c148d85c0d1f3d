package manifest

import "testing"

func TestIsReserved(t *testing.T) {
	for name, want := range map[string]bool{
		"envop": true, "envop-tokens": true, "envop-git": true, "envop-state-api": true,
		"envop-audit-dev": true, "ENVOP-tokens": true, "envop-": true,
		"envoy": false, "envops": false, "my-envop": false, "api": false, "": false,
	} {
		if got := IsReserved(name); got != want {
			t.Errorf("IsReserved(%q) = %v, want %v", name, got, want)
		}
	}
}
