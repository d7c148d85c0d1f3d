package client

import (
	"context"
	"testing"
	"time"
)

func contextWithCancelSoon(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), 50*time.Millisecond)
}
