package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/envop/envop/internal/version"
)

// TestServicesCountedAtScrape: envop_services is what the count function
// says at the moment of the scrape, every status present, zero included.
func TestServicesCountedAtScrape(t *testing.T) {
	m := New()
	counts := map[string]int{"green": 2, "red": 1}
	m.CountServices(func() map[string]int { return counts })
	want := `
# HELP envop_services Services by health status (green, orange, red).
# TYPE envop_services gauge
envop_services{status="green"} 2
envop_services{status="orange"} 0
envop_services{status="red"} 1
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "envop_services"); err != nil {
		t.Fatal(err)
	}
	counts = map[string]int{"orange": 3}
	want = strings.NewReplacer(`"green"} 2`, `"green"} 0`, `"orange"} 0`, `"orange"} 3`, `"red"} 1`, `"red"} 0`).Replace(want)
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "envop_services"); err != nil {
		t.Fatalf("after a change: %v", err)
	}
}

func TestBuildInfo(t *testing.T) {
	info := version.Get()
	want := `
# HELP envop_build_info The running binary's version, commit and Go version (value 1).
# TYPE envop_build_info gauge
envop_build_info{commit="` + info.Commit + `",go_version="` + info.GoVersion + `",version="` + info.Version + `"} 1
`
	if err := testutil.GatherAndCompare(New().Registry, strings.NewReader(want), "envop_build_info"); err != nil {
		t.Fatal(err)
	}
}
