// Command bench is `make bench`: it starts a private local control plane,
// runs the operator against an environment of N services, measures it
// against `kubectl apply --server-side` of the same objects and writes the
// numbers to docs/benchmarks.md. Ctrl-C stops everything it started.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
