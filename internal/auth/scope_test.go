package auth

import (
	"net/netip"
	"testing"
)

func TestParseScope(t *testing.T) {
	for in, want := range map[string]string{
		"*": "*", "web": "web", " web , api,web": "api,web", "a-1,b2": "a-1,b2",
	} {
		s, err := ParseScope(in)
		if err != nil || s.String() != want {
			t.Errorf("ParseScope(%q) = %q, %v; want %q", in, s, err, want)
		}
	}
	for _, bad := range []string{"", ",", "web,", "Web", "web_1", "-web", "*,web", "web,*", "a.b"} {
		if s, err := ParseScope(bad); err == nil {
			t.Errorf("ParseScope(%q) = %q, want an error", bad, s)
		}
	}
}

func TestScopeSets(t *testing.T) {
	all, web, webAPI, db := Scope{}, ScopeOf("web"), ScopeOf("web", "api"), ScopeOf("db")
	if !all.Contains("anything") || !web.Contains("web") || web.Contains("api") || web.Contains("") {
		t.Error("Contains")
	}
	for _, tt := range []struct {
		got  Scope
		want string
	}{
		{all.Intersect(web), "web"}, {webAPI.Intersect(all), "api,web"}, {webAPI.Intersect(web), "web"},
		{all.Union(web), "*"}, {web.Union(db), "db,web"}, {ScopeOf().Union(web), "web"},
	} {
		if tt.got.String() != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	none := web.Intersect(db)
	if !none.Empty() || none.All() || none.Contains("web") || none.Contains("db") {
		t.Errorf("disjoint intersection %+v covers something", none)
	}
	if all.Empty() || !all.All() {
		t.Error("the zero Scope must cover every service")
	}
}

func TestPrincipalAllows(t *testing.T) {
	p := Principal{Grants: []Grant{{Role: RoleView}, {Role: RoleDeploy, Scope: ScopeOf("web")}}}
	for _, tt := range []struct {
		need    Role
		service string
		want    bool
	}{
		{RoleView, "db", true}, {RoleDeploy, "web", true}, {RoleDeploy, "db", false}, {RoleAdmin, "web", false},
	} {
		if got := p.Allows(tt.need, tt.service); got != tt.want {
			t.Errorf("Allows(%s, %s) = %v, want %v", tt.need, tt.service, got, tt.want)
		}
	}
	if !p.AllowsAny(RoleDeploy) || p.AllowsEverywhere(RoleDeploy) || !p.AllowsEverywhere(RoleView) || p.Role() != RoleDeploy {
		t.Error("AllowsAny / AllowsEverywhere / Role")
	}
	empty := Principal{Grants: []Grant{{Role: RoleAdmin, Scope: ScopeOf()}}}
	if empty.AllowsAny(RoleView) || empty.Allows(RoleView, "web") {
		t.Error("a grant over no service allows something")
	}
}

func TestParseProxies(t *testing.T) {
	got, err := ParseProxies("10.0.0.0/8, 192.0.2.7 ,fd00::/8,10.1.2.3/8")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("10.0.0.0/8")}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("proxy %d = %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example.com", "10.0.0"} {
		if _, err := ParseProxies(bad); err == nil {
			t.Errorf("ParseProxies(%q): no error", bad)
		}
	}
}
