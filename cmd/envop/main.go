// Command envop is Environment Operator: the operator that runs in an
// environment's namespace and the CLI that people and pipelines use.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/envop/envop/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}
