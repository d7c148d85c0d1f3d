// Package testcluster gives a test package one private, real control plane
// (see localcluster): started in TestMain on free ports in a temporary
// directory, stopped when the tests end. Tests isolate themselves by
// namespace and can act as a ServiceAccount confined to a namespaced Role.
// A package whose tests stay in their namespaces may instead share the
// plane `make test` starts for all such packages (SharedMain).
//
// When the control-plane binaries are missing the tests fail, they never
// skip: build them with `make controlplane` (make test does).
package testcluster
