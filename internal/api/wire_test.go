package api

import (
	"testing"

	"github.com/envop/envop/internal/apitypes"
	"github.com/envop/envop/internal/state"
)

// TestDeployStatusesAreTheWire: viewOf copies a stored deploy's status as
// it is, so the store's words must be those clients compare with.
func TestDeployStatusesAreTheWire(t *testing.T) {
	for stored, wire := range map[string]string{
		state.StatusDeploying: apitypes.StatusDeploying,
		state.StatusSucceeded: apitypes.StatusSucceeded,
		state.StatusFailed:    apitypes.StatusFailed,
	} {
		if stored != wire {
			t.Errorf("state says %q where the API says %q", stored, wire)
		}
	}
}
