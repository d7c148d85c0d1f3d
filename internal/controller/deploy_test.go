package controller

import (
	"strings"
	"testing"

	"github.com/envop/envop/internal/deploy"
)

func TestNotPromotable(t *testing.T) {
	for _, tt := range []struct {
		name string
		w    deploy.Workload
		want string
		why  string // "" promotable, else a part of the reason
	}{
		{"green on its version", deploy.Workload{Exists: true, Version: "2", Status: deploy.Green}, "2", ""},
		{"green, no intent recorded", deploy.Workload{Exists: true, Version: "2", Status: deploy.Green}, "", ""},
		{"missing", deploy.Workload{}, "2", "does not run yet"},
		// The deploy was accepted but not applied yet: the colour is still
		// green on the version it ran before.
		{"green on the old version", deploy.Workload{Exists: true, Version: "1", Status: deploy.Green}, "2", "still being deployed version 2"},
		{"rolling out", deploy.Workload{Exists: true, Version: "2", Status: deploy.Orange, Reason: "Progressing"}, "2", "orange (Progressing)"},
		{"failed", deploy.Workload{Exists: true, Version: "2", Status: deploy.Red, Reason: "CrashLoopBackOff"}, "2", "red (CrashLoopBackOff)"},
	} {
		got := notPromotable(tt.w, tt.want)
		if tt.why == "" && got != "" || tt.why != "" && !strings.Contains(got, tt.why) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.why)
		}
	}
}

func TestCheckVersion(t *testing.T) {
	for v, want := range map[string]string{
		"1.2.3":                 "",
		"v1.0.0-rc.1_build":     "",
		"":                      "version is required",
		"1.0 beta":              "use letters, digits",
		"-1":                    "use letters, digits",
		strings.Repeat("a", 64): "64 characters, at most 63",
	} {
		err := checkVersion(v)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("checkVersion(%q) = %v, want %q", v, err, want)
		}
	}
}
