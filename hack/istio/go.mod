// Module istio pins the Istio API module whose CustomResourceDefinitions
// the service mesh tests install (fetch.sh copies its
// kubernetes/customresourcedefinitions.gen.yaml). It lives apart from the
// product module so that Istio's module never enters the product's go.mod.
// No package imports it: only the module's files are read, so `go mod tidy`
// must not be run here.
module envop.local/hack/istio

go 1.27

require istio.io/api v1.32.0
