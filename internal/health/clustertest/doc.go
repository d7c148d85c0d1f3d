// Package clustertest runs the health Monitor against a real control plane
// (kube-apiserver, the real deployment, statefulset and job controllers, the
// scheduler, and kwok nodes whose image tags simulate failures). It holds
// tests only; they live apart from package health so that its pure table
// tests and benchmarks run without starting a cluster.
package clustertest
