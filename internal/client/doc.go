// Package client is a small typed client for the operator's HTTP API
// (docs/api.md), used by the CLI's client commands.
//
// Errors are typed so callers can map them to exit codes: an *APIError is
// an answer from the server (4xx or 5xx, with the message of its JSON
// body); an *UnreachableError means no answer arrived (connection refused,
// DNS, TLS handshake, timeout). Tokens never appear in either.
package client
