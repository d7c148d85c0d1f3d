package deploy

import (
	"fmt"

	"github.com/envop/envop/internal/state"
)

// Reasons the tracker itself gives.
const (
	ReasonSuperseded = "Superseded"
	ReasonRemoved    = "ServiceRemoved"
)

// Health colours, as the health package reports them.
const (
	Green  = "green"
	Orange = "orange"
	Red    = "red"
)

// Workload is what a decision needs to know of a workload's health.
type Workload struct {
	Exists  bool
	Version string
	Status  string
	Reason  string
	Message string
}

// Outcome is a decision: still deploying, or a terminal status and why.
type Outcome struct {
	Status  string
	Reason  string
	Message string
}

// Decide says where a running deploy stands given its workload's health.
// Only the health of the deploy's own version counts: until the workload
// runs that version, the deploy is still deploying.
func Decide(d state.Deploy, w Workload) Outcome {
	if !w.Exists || w.Version != d.Version {
		return Outcome{Status: state.StatusDeploying}
	}
	switch w.Status {
	case Green:
		return Outcome{Status: state.StatusSucceeded, Message: fmt.Sprintf("%s is running version %s", d.Workload, d.Version)}
	case Red:
		return Outcome{Status: state.StatusFailed, Reason: w.Reason, Message: w.Message}
	default:
		return Outcome{Status: state.StatusDeploying}
	}
}
