// Package api is the operator's HTTP API (docs/api.md): deploys you can
// wait on, truthful status, pods with their logs, rollback, blue/green
// promotion, the audit trail and the webhook. Handlers return errors; one
// wrapper turns them into a status code and a JSON body `{"error", "code"}`
// and logs what the client is not told. The API reaches the operator
// through the small Backend interface.
package api
