package apply

import (
	"errors"
	"fmt"
)

// Action is what happened to one object.
type Action string

// The actions of a Change.
const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
	Pruned     Action = "pruned"
	Skipped    Action = "skipped"
	Failed     Action = "failed"
)

// Change is the outcome for one object.
type Change struct {
	Kind    string
	Name    string
	Service string // the app.kubernetes.io/name label
	Action  Action
	// Reason says why an object was skipped.
	Reason string
	// Err is set when Action is Failed; it names the kind and name.
	Err error
	// Reverted says what drift an apply undid ("deleted", "changed by
	// kubectl-edit"): the object was applied again with the content this
	// Applier had given it before. Empty for other changes.
	Reverted string

	key objectKey
}

func (c Change) String() string {
	return fmt.Sprintf("%s/%s %s", c.Kind, c.Name, c.Action)
}

// ChangeSet is the outcome of an Apply or a Prune, in the order the objects
// were handled.
type ChangeSet struct {
	Changes []Change
}

// Counts is the number of changes by action.
func (cs *ChangeSet) Counts() map[Action]int {
	m := map[Action]int{}
	for _, c := range cs.Changes {
		m[c.Action]++
	}
	return m
}

// Failed lists the failed changes.
func (cs *ChangeSet) Failed() []Change {
	var out []Change
	for _, c := range cs.Changes {
		if c.Action == Failed {
			out = append(out, c)
		}
	}
	return out
}

// Writes is the number of objects created, configured or pruned.
func (cs *ChangeSet) Writes() int {
	n := 0
	for _, c := range cs.Changes {
		switch c.Action {
		case Created, Configured, Pruned:
			n++
		}
	}
	return n
}

// Err joins the errors of the failed changes; nil when none failed.
func (cs *ChangeSet) Err() error {
	var errs []error
	for _, c := range cs.Failed() {
		errs = append(errs, c.Err)
	}
	return errors.Join(errs...)
}

// Find returns the change for kind/name, if any.
func (cs *ChangeSet) Find(kind, name string) (Change, bool) {
	for _, c := range cs.Changes {
		if c.Kind == kind && c.Name == name {
			return c, true
		}
	}
	return Change{}, false
}
