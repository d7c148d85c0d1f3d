package controller

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

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

// TestLoadGistsFromTheGistsRepository: an environment that names a gists
// repository reads its gist paths at the root of that repository's tree,
// whatever folder the manifest is in, and never from the manifest's
// repository; a snapshot without the tree is an error, not an invalid file.
func TestLoadGistsFromTheGistsRepository(t *testing.T) {
	c := &Controller{cfg: Config{Namespace: "shop-dev", Environment: "dev", File: "deploy/environments.bitesize"}}
	files := fstest.MapFS{
		"deploy/environments.bitesize": {Data: []byte(`project: shop
environments:
  - name: dev
    namespace: shop-dev
    gists_repository:
      remote: https://git.example.com/shop/config.git
    gists:
      - name: app
        files: [conf/a.properties]
    services:
      - name: api
        version: 1.0.0
`)},
		"deploy/conf/a.properties": {Data: []byte("the manifest's folder")},
		"conf/a.properties":        {Data: []byte("the manifest's repository root")},
	}
	gists := fstest.MapFS{
		"deploy/conf/a.properties": {Data: []byte("the gists repository's deploy folder")},
		"conf/a.properties":        {Data: []byte("the gists repository's root")},
	}
	d, err := c.load(Snapshot{Revision: "r1", Files: files, Gists: gists, GistsRevision: "g1"}, c.cfg.Policy)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(d.files["conf/a.properties"]); got != "the gists repository's root" || len(d.files) != 1 {
		t.Errorf("files %q, want conf/a.properties from the gists repository's root", d.files)
	}
	if d.gistsRevision != "g1" {
		t.Errorf("gists revision %q, want g1", d.gistsRevision)
	}
	_, err = c.load(Snapshot{Revision: "r1", Files: files}, c.cfg.Policy)
	var invalid *InvalidError
	if err == nil || errors.As(err, &invalid) || !strings.Contains(err.Error(), "the gists repository https://git.example.com/shop/config.git was not fetched") {
		t.Errorf("without the gists tree: %v", err)
	}
}
