// Package clustertest proves the install manifests on a real control plane:
// applied as `envop install` prints them, the operator's ServiceAccount can
// sync and deploy with exactly the rights they grant, holds no others, and
// the kustomize overlay builds to the same objects. It holds only tests.
package clustertest
