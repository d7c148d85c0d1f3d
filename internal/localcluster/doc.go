// Package localcluster starts and stops a real local Kubernetes control
// plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kwok (fake nodes whose pods become Ready without a kubelet), all on
// loopback, from binaries built by hack/controlplane/build.sh.
//
// The same code serves `make cluster-up` (processes detached, recorded in pid
// files, stopped by `make cluster-down`) and the tests (processes tied to the
// test binary and stopped in cleanup). Nothing here may send traffic anywhere
// but loopback: kwok pod IPs and ClusterIPs are not routable.
package localcluster
