package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes, as docs/cli.md fixes them.
const (
	ExitOK          = 0  // success
	ExitFailed      = 1  // the deploy failed, validation found errors, diff has changes
	ExitUsage       = 2  // bad usage or a request refused (4xx)
	ExitUnreachable = 3  // endpoint unreachable or server error
	ExitTimeout     = 70 // a wait timed out
)

// Streams are the standard streams a command reads and writes, and the
// environment its settings fall back to.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// Getenv reads the variables of settings (DOCKER_REGISTRY, GIT_TOKEN,
	// ...); nil reads the process's environment.
	Getenv func(string) string
}

// getenv reads a variable through Getenv.
func (s Streams) getenv(name string) string {
	if s.Getenv == nil {
		return os.Getenv(name)
	}
	return s.Getenv(name)
}

// ExitError carries the exit code a command wants. A nil Err means the
// command already printed what the user needs.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// exitf returns an ExitError with a formatted message.
func exitf(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

// Run executes the envop command line and returns the process exit code.
func Run(ctx context.Context, streams Streams, args []string) int {
	root := newRoot(streams)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Err != nil {
			fmt.Fprintln(streams.Err, "error:", exit.Err)
		}
		return exit.Code
	}
	// Anything else comes from flag parsing or argument checks.
	fmt.Fprintln(streams.Err, "error:", err)
	return ExitUsage
}

func newRoot(streams Streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "envop",
		Short:         "Environment Operator: environments from one file in git, deployed and watched",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	root.AddCommand(
		newVersionCmd(streams),
		newValidateCmd(streams),
		newRenderCmd(streams),
		newServeCmd(streams),
		newDeployCmd(streams),
		newStatusCmd(streams),
		newLogsCmd(streams),
		newRollbackCmd(streams),
		newPromoteCmd(streams),
		newAuditCmd(streams),
		newInstallCmd(streams),
		newDiffCmd(streams),
		newMigrateCmd(streams),
	)
	return root
}
