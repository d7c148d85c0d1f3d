// Package rbac merges Role rules, so that the operator's Role is written the
// same way wherever it is built: by the operator (operator.RequiredRules), by
// `envop install` and by the kustomize files in deploy/. It is pure.
package rbac
