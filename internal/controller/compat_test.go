package controller

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

// TestLoadGistsFromTheRepositoryRoot: the operator looks a gist path up
// in the manifest's folder, then at the root of its checkout, as envop
// validate does in a clone.
func TestLoadGistsFromTheRepositoryRoot(t *testing.T) {
	c := &Controller{cfg: Config{Namespace: "shop-dev", Environment: "dev", File: "deploy/environments.bitesize"}}
	files := fstest.MapFS{
		"deploy/environments.bitesize": {Data: []byte(`project: shop
environments:
  - name: dev
    namespace: shop-dev
    gists:
      - name: both
        files: [conf/a.properties]
      - name: root-only
        files: [conf/b.properties]
    services:
      - name: api
        version: 1.0.0
`)},
		"deploy/conf/a.properties": {Data: []byte("a from the folder")},
		"conf/a.properties":        {Data: []byte("a from the root")},
		"conf/b.properties":        {Data: []byte("b from the root")},
	}
	d, err := c.load(Snapshot{Files: files}, c.cfg.Policy)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(d.files["conf/a.properties"]); got != "a from the folder" {
		t.Errorf("conf/a.properties = %q", got)
	}
	if got := string(d.files["conf/b.properties"]); got != "b from the root" {
		t.Errorf("conf/b.properties = %q", got)
	}
}

// TestLoadRefusesAnotherNamespace: a service's namespace must be the
// operator's when the environment names none.
func TestLoadRefusesAnotherNamespace(t *testing.T) {
	c := &Controller{cfg: Config{Namespace: "shop-test", Environment: "dev", File: "environments.bitesize"}}
	files := fstest.MapFS{"environments.bitesize": {Data: []byte(`project: shop
environments:
  - name: dev
    services:
      - name: api
        namespace: shop-dev
`)}}
	_, err := c.load(Snapshot{Revision: "r1", Files: files}, c.cfg.Policy)
	var invalid *InvalidError
	want := `environments.bitesize:6:20: environments[0].services[0].namespace: "shop-dev" is not the namespace the operator runs in, "shop-test"`
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want an invalid revision saying %q", err, want)
	}
	c.cfg.Namespace = "shop-dev"
	if _, err := c.load(Snapshot{Revision: "r1", Files: files}, c.cfg.Policy); err != nil {
		t.Errorf("in its namespace: %v", err)
	}
}
