// Package install generates the manifests that run the operator in one
// namespace with least privilege: a ServiceAccount, a Role holding exactly
// the rules the operator uses, their RoleBinding, a hardened Deployment and
// its Service. Generation is pure (options in, objects and bytes out) and
// deterministic, so `envop install`, the kustomize base in deploy/base and
// the golden files are the same text.
package install
