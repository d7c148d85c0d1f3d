// Package apitypes holds the JSON shapes of the operator's HTTP API
// (docs/api.md): request bodies, answers and the error body. The server
// (package api) writes them and the client (package client) reads them, so
// the two cannot drift; it depends on the standard library only, so that
// a client of the API does not link the operator.
package apitypes
