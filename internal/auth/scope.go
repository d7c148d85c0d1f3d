package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Scope is the set of services a grant covers. The zero Scope covers every
// service (written `*`); a limited one covers the services it names, and may
// cover none (the intersection of two disjoint scopes).
type Scope struct {
	limited bool
	names   []string // sorted, without duplicates; read only when limited
}

// ScopeOf returns the scope covering exactly names.
func ScopeOf(names ...string) Scope {
	s := Scope{limited: true, names: slices.Clone(names)}
	slices.Sort(s.names)
	s.names = slices.Compact(s.names)
	return s
}

// ParseScope reads a scope written as `*` or as comma-separated service
// names. Names must be service names (DNS labels); an empty list is an
// error, since it would grant nothing.
func ParseScope(s string) (Scope, error) {
	items := strings.Split(s, ",")
	names := make([]string, 0, len(items))
	for _, item := range items {
		item = strings.TrimSpace(item)
		switch {
		case item == "*":
			if len(items) > 1 {
				return Scope{}, errors.New("`*` stands alone: it already means every service")
			}
			return Scope{}, nil
		case item == "":
			return Scope{}, errors.New("empty service name in the list")
		case !isServiceName(item):
			return Scope{}, fmt.Errorf("%q is not a service name (lower-case letters, digits and '-', at most 63)", item)
		}
		names = append(names, item)
	}
	return ScopeOf(names...), nil
}

// isServiceName reports whether s is a DNS label, as service names are.
func isServiceName(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// All reports whether s covers every service.
func (s Scope) All() bool { return !s.limited }

// Empty reports whether s covers no service at all.
func (s Scope) Empty() bool { return s.limited && len(s.names) == 0 }

// Contains reports whether s covers service.
func (s Scope) Contains(service string) bool {
	if !s.limited {
		return true
	}
	_, ok := slices.BinarySearch(s.names, service)
	return ok
}

// Intersect returns the services both s and o cover.
func (s Scope) Intersect(o Scope) Scope {
	switch {
	case !s.limited:
		return o
	case !o.limited:
		return s
	}
	var both []string
	for _, n := range s.names {
		if o.Contains(n) {
			both = append(both, n)
		}
	}
	return ScopeOf(both...)
}

// Union returns the services s or o covers.
func (s Scope) Union(o Scope) Scope {
	if !s.limited || !o.limited {
		return Scope{}
	}
	return ScopeOf(append(slices.Clone(s.names), o.names...)...)
}

// String writes s the way ParseScope reads it.
func (s Scope) String() string {
	if !s.limited {
		return "*"
	}
	return strings.Join(s.names, ",")
}

// Grant is a role over a scope of services.
type Grant struct {
	Role  Role
	Scope Scope
}

// Allows reports whether p may do what needs role on service: one of its
// grants holds that role, or a higher one, over the service.
func (p Principal) Allows(need Role, service string) bool {
	return slices.ContainsFunc(p.Grants, func(g Grant) bool {
		return g.Role.Allows(need) && g.Scope.Contains(service)
	})
}

// AllowsAny reports whether p holds role need over at least one service:
// enough to call an operation, whose service is checked with Allows.
func (p Principal) AllowsAny(need Role) bool {
	return slices.ContainsFunc(p.Grants, func(g Grant) bool {
		return g.Role.Allows(need) && !g.Scope.Empty()
	})
}

// AllowsEverywhere reports whether p holds role need over every service,
// which records about the whole environment (syncs, webhooks) require.
func (p Principal) AllowsEverywhere(need Role) bool {
	return slices.ContainsFunc(p.Grants, func(g Grant) bool {
		return g.Role.Allows(need) && g.Scope.All()
	})
}

// Role returns the highest role among p's grants, for logs and messages.
func (p Principal) Role() Role {
	var best Role
	for _, g := range p.Grants {
		if g.Role.rank() > best.rank() {
			best = g.Role
		}
	}
	return best
}
