package client

import (
	"context"
	"net/http"

	"github.com/envop/envop/internal/apitypes"
)

// The body and answer of POST /diff.
type (
	DiffRequest = apitypes.DiffRequest
	DiffAnswer  = apitypes.DiffAnswer
)

// Diff asks what a sync of a file would change (POST /diff).
func (c *Client) Diff(ctx context.Context, req DiffRequest) (DiffAnswer, error) {
	var ans DiffAnswer
	err := c.do(ctx, http.MethodPost, "/diff", nil, req, &ans, 0)
	return ans, err
}
