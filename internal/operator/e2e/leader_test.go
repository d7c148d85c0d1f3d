package e2e

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/envop/envop/internal/operator"
)

// TestLeaderElection: a second replica waits while the first leads, and
// takes over when the first stops.
func TestLeaderElection(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, basic, func(o *operator.Options) { o.LeaderElect = true })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	second := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- operator.Run(ctx, operator.Options{
			RestConfig: e.cfg, Namespace: e.ns, Environment: "e2e", GitRepo: e.repo, Listener: ln,
			PollInterval: time.Hour, LeaderElect: true, Log: slog.New(slog.NewJSONHandler(e.logs, nil)),
		})
	}()
	ready := func() bool {
		c := http.Client{Timeout: 500 * time.Millisecond}
		resp, err := c.Get(second + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	time.Sleep(3 * time.Second)
	if ready() {
		t.Fatal("the second replica serves while the first leads")
	}
	e.stop() // releases the lease
	e.eventually(40*time.Second, "second replica takes over", func() (bool, string) { return ready(), "not ready" })
	cancel()
	<-done
}
