package apply

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/testcluster"
	"github.com/envop/envop/internal/testlog"
)

// TestHelmChartRulesAreMinimal: with RequiredRules and HelmChartRules a
// ServiceAccount diffs, applies, watches for drift and prunes a HelmChart
// beside the usual objects; without any one of HelmChartRules' verbs that
// cycle fails. The kinds of render.KnownCustomKinds take the same path, so
// this stands for IstioRules too.
func TestHelmChartRulesAreMinimal(t *testing.T) {
	testcluster.InstallCRDs(t, testcluster.HelmChartCRD)
	for _, verb := range append([]string{"none"}, applyVerbs...) {
		t.Run("without "+verb, func(t *testing.T) {
			ns := testcluster.Namespace(t)
			rules := append(slices.Clip(RequiredRules), withoutVerb(HelmChartRules, verb)...)
			cfg, _ := testcluster.ServiceAccountClient(t, ns, "envop", rules)
			a, _ := newApplier(t, cfg, Options{Namespace: ns})
			err := helmChartCycle(t, a, ns)
			switch {
			case verb == "none" && err != nil:
				t.Fatalf("the cycle failed with every right: %v", err)
			case verb != "none" && err != nil:
				t.Logf("without %s: %v", verb, err)
			case verb != "none" && err == nil:
				t.Errorf("a cycle without %q succeeded: the verb is not needed", verb)
			}
		})
	}
}

// helmChartCycle diffs, applies, sees a deletion by hand as drift,
// applies again and prunes the HelmChart redis with the application's
// objects; it says what went wrong first.
func helmChartCycle(t *testing.T, a *Applier, ns string) error {
	t.Helper()
	objs := append(appSet(t, ns), find(t, golden(t, ns, "helmchart.yaml"), "HelmChart", "redis"))
	logs := &testlog.Buffer{}
	a.opts.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	drift := make(chan struct{}, 1)
	if err := a.WatchDrift(ctx, func() {
		select {
		case drift <- struct{}{}:
		default:
		}
	}); err != nil {
		return err
	}
	if d, err := a.Diff(ctx, objs, nil, nil); err != nil || diffAction(d, "HelmChart", "redis") != DiffCreate {
		return fmt.Errorf("diff before the first apply: %v, %v", err, d)
	}
	if err := a.Apply(ctx, objs, nil).Err(); err != nil {
		return err
	}
	charts := helmCharts(t, ns)
	if err := charts.Delete(ctx, "redis", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete by hand: %v", err)
	}
	select {
	case <-drift:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("the drift watch saw no deletion by hand: %s", logs.Tail(3))
	}
	if strings.Contains(logs.String(), "drift watch failed") {
		return fmt.Errorf("drift watch: %s", logs.Tail(3))
	}
	cs := a.Apply(ctx, objs, nil)
	if c, _ := cs.Find("HelmChart", "redis"); c.Action != Created || c.Reverted == "" {
		return fmt.Errorf("the deleted HelmChart was not applied again as a revert: %+v (%v)", c, cs.Err())
	}
	kept := without(objs, "HelmChart", "redis")
	if d, err := a.Diff(ctx, kept, nil, nil); err != nil || diffAction(d, "HelmChart", "redis") != DiffDelete {
		return fmt.Errorf("diff of a file without the chart: %v, %v", err, d)
	}
	pruned, err := a.Prune(ctx, kept)
	if err == nil {
		err = pruned.Err()
	}
	if err != nil {
		return err
	}
	if c, _ := pruned.Find("HelmChart", "redis"); c.Action != Pruned {
		return fmt.Errorf("the HelmChart was not pruned: %+v", pruned.Changes)
	}
	return nil
}

func diffAction(d *Diff, kind, name string) DiffAction {
	if d == nil {
		return ""
	}
	for _, o := range d.Objects {
		if o.Kind == kind && o.Name == name {
			return o.Action
		}
	}
	return ""
}

func helmCharts(t *testing.T, ns string) dynamic.ResourceInterface {
	t.Helper()
	gvr := render.HelmChartKind.GroupVersion().WithResource("helmcharts")
	return dynamic.NewForConfigOrDie(testcluster.Get(t).Config).Resource(gvr).Namespace(ns)
}
