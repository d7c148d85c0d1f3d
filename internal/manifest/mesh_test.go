package manifest

import "testing"

func init() {
	schemaTables["EntryPort"] = keys(entryPortFields)
	schemaTables["Endpoint"] = keys(endpointFields)
}

// TestTypedResourceKinds: HelmChart and ServiceEntry are recognised in any
// case, and service_mesh routes only a workload with hosts.
func TestTypedResourceKinds(t *testing.T) {
	for _, tc := range []struct {
		typ         string
		helm, entry bool
		custom      bool
	}{
		{"HelmChart", true, false, true}, {"helmchart", true, false, true}, {"HELMCHART", true, false, true},
		{"ServiceEntry", false, true, true}, {"serviceentry", false, true, true},
		{"couchbase", false, false, true}, {"", false, false, false},
	} {
		s := Service{Type: tc.typ}
		if s.IsHelmChart() != tc.helm || s.IsServiceEntry() != tc.entry || s.IsCustomResource() != tc.custom {
			t.Errorf("type %q: helm %v, entry %v, custom %v", tc.typ, s.IsHelmChart(), s.IsServiceEntry(), s.IsCustomResource())
		}
	}
	for _, tc := range []struct {
		s    Service
		want bool
	}{
		{Service{ServiceMesh: MeshEnable, ExternalURL: []string{"a.example.com"}}, true},
		{Service{ServiceMesh: MeshEnable}, false},
		{Service{ServiceMesh: MeshDisable, ExternalURL: []string{"a.example.com"}}, false},
		{Service{ServiceMesh: MeshEnable, ExternalURL: []string{"a.example.com"}, Type: "couchbase"}, false},
	} {
		if got := tc.s.HasMeshRoutes(); got != tc.want {
			t.Errorf("%+v: HasMeshRoutes %v, want %v", tc.s, got, tc.want)
		}
	}
}
