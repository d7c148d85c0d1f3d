package testcluster

import (
	"strings"
	"testing"
)

// TestAttachRefusesWhatIsNoPlane: a shared plane named wrong fails the
// package at once, saying which variable to fix, instead of failing each
// test on a connection.
func TestAttachRefusesWhatIsNoPlane(t *testing.T) {
	for name, dir := range map[string]string{
		"relative":    "plane",
		"no plane":    t.TempDir(),
		"no such dir": "/nonexistent/envop-plane",
	} {
		if c, err := attach(dir); err == nil || !strings.Contains(err.Error(), SharedEnv) {
			t.Errorf("%s: attach(%q) = %v, %v; want an error naming %s", name, dir, c, err, SharedEnv)
		}
	}
}
