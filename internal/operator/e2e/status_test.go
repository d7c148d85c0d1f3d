package e2e

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// manifestOf returns an environment of n services, each a Deployment,
// Service, Ingress and HPA.
func manifestOf(n int) string {
	var b strings.Builder
	b.WriteString("project: bench\nenvironments:\n  - name: e2e\n    namespace: NS\n    services:\n")
	for i := range n {
		fmt.Fprintf(&b, `      - name: svc-%03d
        version: "1.0.0"
        port: 8080
        external_url: svc-%03d.example.com
        requests: {cpu: 50m, memory: 64Mi}
        limits: {cpu: 500m, memory: 128Mi}
        hpa: {min_replicas: 1, max_replicas: 3, metric: {name: cpu, target_average_utilization: 70}}
`, i, i)
	}
	return b.String()
}

// TestStatusServedFromCaches: GET /status on 100 services makes no request
// to the API server, whatever the load; it logs throughput and p99.
func TestStatusServedFromCaches(t *testing.T) {
	t.Parallel()
	e := newEnv(t, manifestOf(100))
	e.eventually(120*time.Second, "100 services green", func() (bool, string) {
		s := e.status()
		return s.Status == "green" && len(s.Services) == 100, s.Status
	})
	e.settle("requests", e.writes.requests) // deploy outcomes and Events
	before := e.writes.requests()
	const workers, perWorker = 4, 250
	lat := make([]time.Duration, 0, workers*perWorker)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWorker {
				req, _ := http.NewRequest("GET", e.url+"/status", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = drain(resp)
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if got := e.writes.requests() - before; got != 0 {
		t.Fatalf("%d API server requests during %d GET /status calls, want 0", got, len(lat))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("GET /status, 100 services: %d requests in %s = %.0f req/s, p50 %s, p99 %s, 0 API server requests",
		len(lat), took.Round(time.Millisecond), float64(len(lat))/took.Seconds(), lat[len(lat)/2], lat[len(lat)*99/100])
}

func drain(resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(io.Discard, resp.Body)
}
