package operator

import (
	"context"
	"errors"
	"fmt"

	"github.com/envop/envop/internal/api"
	"github.com/envop/envop/internal/apply"
	"github.com/envop/envop/internal/controller"
)

// Diff answers POST /diff: the controller previews the file as a sync
// would (same policy, plan and render settings) and the applier compares
// the result with the cluster by a server-side dry run, pruning included.
func (b *backend) Diff(ctx context.Context, req api.DiffRequest) (api.DiffAnswer, error) {
	gists := make(map[string][]byte, len(req.Gists))
	for p, content := range req.Gists {
		gists[p] = []byte(content)
	}
	preview, err := b.p.Controller.Preview(ctx, []byte(req.File), gists)
	var invalid *controller.InvalidError
	if errors.As(err, &invalid) {
		return api.DiffAnswer{}, fmt.Errorf("%w: the file is invalid: %w", controller.ErrInvalid, invalid.Err)
	}
	if err != nil {
		return api.DiffAnswer{}, err
	}
	d, err := b.p.Applier.Diff(ctx, preview.Objects, preview.Keep, preview.Adopt)
	if err != nil {
		return api.DiffAnswer{}, err
	}
	return DiffAnswer(d), nil
}

// DiffAnswer is d as POST /diff answers it (and envop diff prints it).
func DiffAnswer(d *apply.Diff) api.DiffAnswer {
	ans := api.DiffAnswer{Changes: []api.DiffChange{}, Notes: d.Notes}
	for _, o := range d.Objects {
		if o.Err != nil {
			ans.Failed = append(ans.Failed, api.DiffFailure{Kind: o.Kind, Name: o.Name, Service: o.Service, Error: o.Err.Error()})
			continue
		}
		ans.Changes = append(ans.Changes, api.DiffChange{Kind: o.Kind, Name: o.Name, Service: o.Service, Action: string(o.Action), Diff: o.Diff})
	}
	return ans
}
