package auth

import "fmt"

// Role is what a caller may do: view < deploy < admin.
type Role string

// The roles, from least to most privileged.
const (
	RoleView   Role = "view"
	RoleDeploy Role = "deploy"
	RoleAdmin  Role = "admin"
)

// rank orders the roles; an unknown role ranks below every real one.
func (r Role) rank() int {
	switch r {
	case RoleView:
		return 1
	case RoleDeploy:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether r includes the rights of need. An unknown role
// allows nothing, and nothing allows an unknown need.
func (r Role) Allows(need Role) bool {
	return r.Valid() && need.Valid() && r.rank() >= need.rank()
}

// ParseRole returns the Role named s (view, deploy or admin).
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !r.Valid() {
		return "", fmt.Errorf("unknown role %q (want view, deploy or admin)", s)
	}
	return r, nil
}
