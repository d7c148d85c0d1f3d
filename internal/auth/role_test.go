package auth

import "testing"

func TestRoleAllows(t *testing.T) {
	roles := []Role{RoleView, RoleDeploy, RoleAdmin}
	for i, have := range roles {
		for j, need := range roles {
			if got, want := have.Allows(need), i >= j; got != want {
				t.Errorf("%s.Allows(%s) = %v, want %v", have, need, got, want)
			}
		}
		if have.Allows("root") || Role("root").Allows(have) || Role("").Allows(RoleView) {
			t.Errorf("unknown roles must allow nothing and be allowed by nothing")
		}
	}
}

func TestParseRole(t *testing.T) {
	for _, s := range []string{"view", "deploy", "admin"} {
		if r, err := ParseRole(s); err != nil || string(r) != s {
			t.Errorf("ParseRole(%q) = %q, %v", s, r, err)
		}
	}
	for _, s := range []string{"", "Admin", "owner"} {
		if _, err := ParseRole(s); err == nil {
			t.Errorf("ParseRole(%q) succeeded", s)
		}
	}
}
