package controller

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"testing/fstest"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envop/envop/internal/apply"
	"github.com/envop/envop/internal/vault"
)

// Preview is what a sync of a file would apply, worked out without
// writing anything.
type Preview struct {
	// Objects are the objects a sync would apply.
	Objects []*unstructured.Unstructured
	// Keep are objects a sync keeps without rendering them: the Secrets
	// Vault fills, which a preview does not read.
	Keep []*unstructured.Unstructured
	// Adopt is what the file lets envop take over (`adopt: true`).
	Adopt apply.Adopt
}

// Preview renders file (the manifest's content) and gists (the files its
// gists name, by path in the repository, or in the gists repository when
// the environment names one) as a sync of a revision holding
// them would: loaded under the installer's policy with the operator's own
// Secrets, versions resolved by the same plan against the state, rendered
// with the operator's settings. Nothing is written, not even the state. An
// invalid file is an *InvalidError, as a sync reports it.
func (c *Controller) Preview(ctx context.Context, file []byte, gists map[string][]byte) (*Preview, error) {
	files := fstest.MapFS{}
	for p, data := range gists {
		if !fs.ValidPath(p) || p == "." || path.Clean(p) != p {
			return nil, fmt.Errorf("%w: gist path %q: want a clean path inside the repository", ErrInvalid, p)
		}
		files[p] = &fstest.MapFile{Data: data, Mode: 0o644}
	}
	files[c.cfg.File] = &fstest.MapFile{Data: file, Mode: 0o644}
	// The gists come with the file, whichever repository they live in.
	d, err := c.loadConfined(ctx, Snapshot{Files: files, Gists: files})
	if err != nil {
		return nil, err
	}
	res, err := c.render(d, c.resolve(d, true))
	if err != nil {
		return nil, &InvalidError{Err: err}
	}
	return &Preview{Objects: res.Objects, Keep: vault.Placeholders(res.Objects), Adopt: apply.Adoption(d.env)}, nil
}
