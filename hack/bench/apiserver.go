package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

const (
	requestsMetric   = "apiserver_request_total"
	dispatchedMetric = "apiserver_flowcontrol_dispatched_requests_total"
	durationSum      = "apiserver_request_duration_seconds_sum"
	durationCount    = "apiserver_request_duration_seconds_count"
	// operatorFlow is the API Priority and Fairness flow schema of service
	// accounts outside kube-system. On the bench's plane only the operator
	// uses one: the bench and kwok are system:masters (exempt), the
	// controller manager's controllers are kube-system accounts and the
	// scheduler has a schema of its own.
	operatorFlow = "service-accounts"
)

// objectResources are the kinds the environment renders to.
var objectResources = map[string]bool{"deployments": true, "services": true, "ingresses": true, "horizontalpodautoscalers": true}

var writeVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "DELETE": true, "DELETECOLLECTION": true, "APPLY": true}

// apiserverSamples reads the API server's request counters from its own
// /metrics, with the admin client.
func (b *bench) apiserverSamples(ctx context.Context) (samples, error) {
	data, err := b.cluster.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the API server's metrics: %w", err)
	}
	return parseSamples(data, requestsMetric+"{", dispatchedMetric+"{", durationSum+"{", durationCount+"{")
}

// operatorRequests counts every request the operator sent, reads included.
func operatorRequests(ss samples) float64 {
	return ss.sum(dispatchedMetric, labelIs("flow_schema", operatorFlow))
}

// writes are the API server's write requests during a window.
type writes struct {
	// Objects are persisted writes to Deployments, Services, Ingresses and
	// HPAs, status and scale subresources excluded (controllers own those).
	Objects float64
	// ObjectDetail names them, "VERB resource: n", when there are any.
	ObjectDetail string
	// ConfigMaps: the operator's state and audit records.
	ConfigMaps float64
	// Events: by every writer, the controller manager's included.
	Events float64
	// DryRun: dry-run requests, which persist nothing.
	DryRun float64
	// Operator: every request of the operator's flow schema, reads included.
	Operator float64
}

func countWrites(before, after samples) writes {
	delta := func(match func(map[string]string) bool) float64 {
		return after.sum(requestsMetric, match) - before.sum(requestsMetric, match)
	}
	written := func(l map[string]string) bool { return writeVerbs[l["verb"]] && l["dry_run"] == "" }
	object := func(l map[string]string) bool {
		return written(l) && objectResources[l["resource"]] && l["subresource"] == ""
	}
	return writes{
		Objects:      delta(object),
		ObjectDetail: detail(before, after, object),
		ConfigMaps:   delta(func(l map[string]string) bool { return written(l) && l["resource"] == "configmaps" }),
		Events:       delta(func(l map[string]string) bool { return written(l) && l["resource"] == "events" }),
		DryRun:       delta(func(l map[string]string) bool { return writeVerbs[l["verb"]] && l["dry_run"] != "" }),
		Operator:     operatorRequests(after) - operatorRequests(before),
	}
}

// detail lists the counters that moved, to say which writes happened.
func detail(before, after samples, match func(map[string]string) bool) string {
	was := map[string]float64{}
	for _, s := range before {
		if s.name == requestsMetric {
			was[labelKey(s.labels)] = s.value
		}
	}
	var parts []string
	for _, s := range after {
		if s.name != requestsMetric || !match(s.labels) {
			continue
		}
		if d := s.value - was[labelKey(s.labels)]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s %s (%s): %.0f", s.labels["verb"], s.labels["resource"], s.labels["code"], d))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// labelKey is a canonical form of a label set.
func labelKey(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k, v := range l {
		keys = append(keys, k+"="+v)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}
