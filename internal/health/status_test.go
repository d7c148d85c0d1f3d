package health

import (
	"maps"
	"testing"
)

func TestWorst(t *testing.T) {
	tests := []struct {
		in   []Status
		want Status
	}{
		{nil, Green},
		{[]Status{Green, Green}, Green},
		{[]Status{Green, Orange}, Orange},
		{[]Status{Red, Orange, Green}, Red},
		{[]Status{Green, "bogus"}, Orange},
	}
	for _, tc := range tests {
		if got := Worst(tc.in...); got != tc.want {
			t.Errorf("Worst(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestAggregate(t *testing.T) {
	ws := []Workload{
		{Service: "api", Name: "api-blue", Status: Green},
		{Service: "api", Name: "api-green", Status: Orange, Reason: ReasonProgressing},
		{Service: "web", Name: "web", Status: Green},
		{Service: "db", Name: "db", Status: Red, Reason: ReasonCrashLoopBackOff},
		{Service: "db", Name: "db-backup", Status: Red, Reason: "BackoffLimitExceeded"},
	}
	if got := Aggregate(ws); got != Red {
		t.Errorf("environment = %s, want red", got)
	}
	if got := Aggregate(ws[:3]); got != Orange {
		t.Errorf("api and web = %s, want orange", got)
	}
	if got := Aggregate(nil); got != Green {
		t.Errorf("nothing = %s, want green", got)
	}
	want := map[string]Status{"api": Orange, "web": Green, "db": Red}
	if got := ByService(ws); !maps.Equal(got, want) {
		t.Errorf("ByService = %v, want %v", got, want)
	}
	if w, ok := WorstWorkload(ws); !ok || w.Name != "db" {
		t.Errorf("WorstWorkload = %s %v, want the first red one, db", w.Name, ok)
	}
}
