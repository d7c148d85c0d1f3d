package client

import "github.com/envop/envop/internal/apitypes"

// Deploy statuses.
const (
	StatusDeploying = apitypes.StatusDeploying
	StatusSucceeded = apitypes.StatusSucceeded
	StatusFailed    = apitypes.StatusFailed
)

// The bodies and answers of the API are package apitypes', which the
// server writes too, so client and server cannot drift.
type (
	DeployRequest = apitypes.DeployRequest
	Deploy        = apitypes.Deploy
	Replicas      = apitypes.Replicas
	Service       = apitypes.Service
	Sync          = apitypes.Sync
	Environment   = apitypes.Environment
	Pod           = apitypes.Pod
	AuditRecord   = apitypes.AuditRecord
	Promotion     = apitypes.Promotion
)
