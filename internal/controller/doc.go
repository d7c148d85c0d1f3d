// Package controller wires the operator's steps: a snapshot of the
// repository is loaded and validated, versions are resolved against the
// persisted state (the latest intent wins), the environment is rendered,
// applied and pruned, and the outcome is recorded in status, metrics,
// events and the deploy history. A bad commit is reported once and leaves
// the last good state running; deploys from the API re-render the last good
// snapshot with the new version.
package controller
