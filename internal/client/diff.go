package client

import (
	"context"
	"net/http"

	"github.com/envop/envop/internal/api"
)

// The body and answer of POST /diff are the server's own types.
type (
	DiffRequest = api.DiffRequest
	DiffAnswer  = api.DiffAnswer
)

// Diff asks what a sync of a file would change (POST /diff).
func (c *Client) Diff(ctx context.Context, req DiffRequest) (DiffAnswer, error) {
	var ans DiffAnswer
	err := c.do(ctx, http.MethodPost, "/diff", nil, req, &ans, 0)
	return ans, err
}
