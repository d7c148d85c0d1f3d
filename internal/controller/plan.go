package controller

import (
	"github.com/envop/envop/internal/plan"
	"github.com/envop/envop/internal/state"
)

// resolve makes the version plan of d from the stored state (package
// plan: the latest intent wins, docs/operator.md); git's changes are on
// copies, and nothing is written until rendering succeeded. A resync only
// reads the intents, copying no history.
func (c *Controller) resolve(d *desired, fromGit bool) *plan.Plan {
	var p *plan.Plan
	c.store.Read(func(states map[string]*state.Service) {
		p = plan.Make(plan.Input{Env: d.env, States: states, Git: fromGit, Revision: d.revision, Author: d.author, At: c.now()})
	})
	return p
}
