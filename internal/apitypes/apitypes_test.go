package apitypes

import (
	"encoding/json"
	"testing"
	"time"
)

// TestWireShapes pins the JSON of each type, field by field and in order:
// the bytes on the wire are docs/api.md's, and clients already parse them.
func TestWireShapes(t *testing.T) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, tt := range []struct {
		name string
		v    any
		want string
	}{
		{"deploy request", DeployRequest{Name: "web", Version: "1.2.3"}, `{"name":"web","version":"1.2.3"}`},
		{"rollback request", DeployRequest{Name: "web"}, `{"name":"web"}`},
		{"promote request", PromoteRequest{Name: "web"}, `{"name":"web"}`},
		{"deploy", Deploy{ID: "d1", Service: "web", Workload: "web-green", Version: "1.2.3", Status: StatusFailed,
			Reason: "CrashLoopBackOff", Message: "back-off", Actor: "ci", Source: "api", StartedAt: at, FinishedAt: &at},
			`{"id":"d1","service":"web","workload":"web-green","version":"1.2.3","status":"failed","reason":"CrashLoopBackOff",` +
				`"message":"back-off","actor":"ci","source":"api","started_at":"2024-05-06T07:08:09Z","finished_at":"2024-05-06T07:08:09Z"}`},
		{"deploy running", Deploy{ID: "d1", Status: StatusDeploying, StartedAt: at},
			`{"id":"d1","service":"","workload":"","version":"","status":"deploying","reason":"","message":"","actor":"","source":"",` +
				`"started_at":"2024-05-06T07:08:09Z","finished_at":null}`},
		{"promotion", Promotion{Service: "web", Active: "green"}, `{"active":"green","service":"web"}`},
		{"diff request", DiffRequest{File: "project: shop\n", Gists: map[string]string{"cfg/app.conf": "a=1\n"}},
			`{"file":"project: shop\n","gists":{"cfg/app.conf":"a=1\n"}}`},
		{"diff answer", DiffAnswer{Changes: []DiffChange{{Kind: "Deployment", Name: "web", Service: "web", Action: DiffUpdate, Diff: "-a\n+b\n"},
			{Kind: "Service", Name: "worker", Action: DiffDelete}}, Failed: []DiffFailure{{Kind: "Ingress", Name: "web", Error: "denied"}}},
			`{"changes":[{"kind":"Deployment","name":"web","service":"web","action":"update","diff":"-a\n+b\n"},` +
				`{"kind":"Service","name":"worker","action":"delete"}],"failed":[{"kind":"Ingress","name":"web","error":"denied"}]}`},
		{"no changes", DiffAnswer{Changes: []DiffChange{}}, `{"changes":[]}`},
		{"environment", Environment{Environment: "dev", Namespace: "shop", Revision: "abc", Sync: Sync{Status: "ok", At: &at},
			Status: "red", Services: []Service{{Name: "web", Application: "shop", Version: "2", Status: "red", Reason: "OOMKilled",
				Replicas: Replicas{Desired: 3, Updated: 2, Ready: 1, Available: 1}, ExternalURL: []string{"web.example.com"},
				Kind: "Deployment", Workload: "web-blue", Active: "blue", ActiveVersion: "1"}}},
			`{"environment":"dev","namespace":"shop","revision":"abc","sync":{"status":"ok","error":"","at":"2024-05-06T07:08:09Z"},` +
				`"status":"red","services":[{"name":"web","application":"shop","version":"2","status":"red","reason":"OOMKilled",` +
				`"message":"","replicas":{"desired":3,"updated":2,"ready":1,"available":1},"deployed_at":null,` +
				`"external_url":["web.example.com"],"kind":"Deployment","workload":"web-blue","active":"blue","active_version":"1"}]}`},
		{"environment with a gists repository", Environment{Environment: "dev", Namespace: "shop", Revision: "abc", GistsRevision: "def",
			Sync: Sync{Status: "synced"}, Status: "green", Services: []Service{}},
			`{"environment":"dev","namespace":"shop","revision":"abc","gists_revision":"def","sync":{"status":"synced","error":"","at":null},` +
				`"status":"green","services":[]}`},
		{"rolling service", Service{Name: "api"},
			`{"name":"api","application":"","version":"","status":"","reason":"","message":"",` +
				`"replicas":{"desired":0,"updated":0,"ready":0,"available":0},"deployed_at":null,"external_url":null,"kind":"","workload":""}`},
		{"pods", Pods{Pods: []Pod{{Name: "web-1", Phase: "Running", Ready: true, Restarts: 2, StartedAt: &at, Logs: "up\n"},
			{Name: "web-2", LogsError: "no logs"}}},
			`{"pods":[{"name":"web-1","phase":"Running","ready":true,"restarts":2,"reason":"","message":"",` +
				`"started_at":"2024-05-06T07:08:09Z","logs":"up\n"},{"name":"web-2","phase":"","ready":false,"restarts":0,` +
				`"reason":"","message":"","started_at":null,"logs":"","logs_error":"no logs"}]}`},
		{"audit record", AuditRecord{Time: at, Actor: "ci", Address: "10.0.0.1", Action: "deploy", Service: "web",
			Version: "2", Revision: "abc", Result: "accepted", Message: "ok"},
			`{"time":"2024-05-06T07:08:09Z","actor":"ci","address":"10.0.0.1","action":"deploy","service":"web",` +
				`"version":"2","revision":"abc","result":"accepted","message":"ok"}`},
		{"audit record of a sync with gists", AuditRecord{Time: at, Actor: "git", Action: "sync", Revision: "abc", GistsRevision: "def",
			Result: "success", Message: "applied revision abc with gists revision def"},
			`{"time":"2024-05-06T07:08:09Z","actor":"git","action":"sync","service":"","version":"","revision":"abc",` +
				`"gists_revision":"def","result":"success","message":"applied revision abc with gists revision def"}`},
		{"audit record of a sync", AuditRecord{Time: at, Actor: "git", Action: "sync"},
			`{"time":"2024-05-06T07:08:09Z","actor":"git","action":"sync","service":"","version":"","revision":"","result":"","message":""}`},
		{"error", Error{Code: 404, Message: `unknown service "x"`}, `{"code":404,"error":"unknown service \"x\""}`},
	} {
		got, err := json.Marshal(tt.v)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if string(got) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestDeployDone(t *testing.T) {
	for status, want := range map[string]bool{StatusDeploying: false, StatusSucceeded: true, StatusFailed: true, "": false} {
		if got := (Deploy{Status: status}).Done(); got != want {
			t.Errorf("Done() of %q = %v", status, got)
		}
	}
}
