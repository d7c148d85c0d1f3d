package controller

import "testing"

func TestSyncActor(t *testing.T) {
	snap := Snapshot{Revision: "r1", Author: "Dev <dev@example.com>", GistsRevision: "g2", GistsAuthor: "Ops <ops@example.com>"}
	for _, tt := range []struct {
		name string
		last *desired
		want string
	}{
		{"first revision", nil, "Dev <dev@example.com>"},
		{"the gists repository alone changed", &desired{revision: "r1", gistsRevision: "g1"}, "Ops <ops@example.com>"},
		{"the repository changed", &desired{revision: "r0", gistsRevision: "g1"}, "Dev <dev@example.com>"},
		{"nothing changed", &desired{revision: "r1", gistsRevision: "g2"}, "Dev <dev@example.com>"},
	} {
		if got := syncActor(snap, tt.last); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestApplied(t *testing.T) {
	if got := applied("0123456789abcdef", ""); got != "applied revision 0123456789ab" {
		t.Errorf("without gists: %q", got)
	}
	if got := applied("0123456789abcdef", "fedcba9876543210"); got != "applied revision 0123456789ab with gists revision fedcba987654" {
		t.Errorf("with gists: %q", got)
	}
}
