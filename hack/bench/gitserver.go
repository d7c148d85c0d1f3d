package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/envop/envop/internal/githttp"
)

// gitServer serves the run's repository over smart HTTP on loopback (git
// http-backend), so that every fetch the operator makes is a real one.
type gitServer struct {
	srv *http.Server
	url string
}

// serveGit serves the repository in dir at the returned server's url.
func serveGit(dir string) (*gitServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("git server: %w", err)
	}
	home := filepath.Join(filepath.Dir(dir), "git-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		ln.Close()
		return nil, err
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "GIT_CONFIG_NOSYSTEM=1"}
	g := &gitServer{
		srv: &http.Server{Handler: githttp.Backend(dir, env), ReadHeaderTimeout: 10 * time.Second},
		url: "http://" + ln.Addr().String() + "/" + filepath.Base(dir),
	}
	go func() {
		if err := g.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logf("git server: %v", err)
		}
	}()
	return g, nil
}

func (g *gitServer) stop() {
	if g == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = g.srv.Shutdown(ctx)
}
