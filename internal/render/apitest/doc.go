// Package apitest holds the tests that show every object the renderer can
// produce is accepted by a real Kubernetes API server. It lives apart from
// package render so that render's own tests stay pure and need no cluster.
package apitest
