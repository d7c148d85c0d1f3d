package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/envop/envop/internal/client"
)

// statusResult is one environment's answer, as -o json|yaml prints it.
type statusResult struct {
	Environment string              `json:"environment"`
	Endpoint    string              `json:"endpoint"`
	Status      *client.Environment `json:"status,omitempty"`
	Error       string              `json:"error,omitempty"`

	err error
}

func newStatusCmd(streams Streams) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "status [SERVICE] [--env all|a,b]",
		Short: "Show the services of one or several environments, queried in parallel",
		Long: `Status asks each environment's operator for its status (GET /status), all at once, and prints a
table of services (environment, service, version, status, reason, replicas) or, with -o json|yaml,
each environment's full answer. --env all means every environment of the config file.

Exit status: 0 every environment answered, 2 a request was refused or SERVICE is unknown,
3 an environment was unreachable or failed. The other environments are still shown.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := cf.targets(cmd.Flags(), true)
			if err != nil {
				return err
			}
			service := ""
			if len(args) == 1 {
				service = args[0]
			}
			results := queryStatus(cmd.Context(), ts, service)
			if cf.output != "" {
				err := writeResults(streams.Out, cf.output, cf.single(ts), results, func(res statusResult) any {
					switch {
					case res.Status == nil || res.err != nil:
						return nil
					case service != "":
						return res.Status.Services[0] // GET /status/{service}
					default:
						return res.Status
					}
				})
				if err != nil {
					return err
				}
			} else {
				writeStatusTable(streams.Out, results)
			}
			return statusFailure(streams.Err, results)
		},
	}
	cf.bind(cmd.Flags())
	return cmd
}

// queryStatus asks every target at once; results keep the targets' order.
func queryStatus(ctx context.Context, ts []target, service string) []statusResult {
	results := make([]statusResult, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Go(func() {
			results[i] = statusOf(ctx, t, service)
		})
	}
	wg.Wait()
	return results
}

func statusOf(ctx context.Context, t target, service string) statusResult {
	res := statusResult{Environment: t.Name, Endpoint: t.Client.Endpoint()}
	env, err := t.Client.Status(ctx)
	if err != nil {
		res.err = apiFailure(t, err)
		res.Error = err.Error()
		return res
	}
	if t.direct && env.Environment != "" {
		res.Environment = env.Environment
	}
	if service != "" {
		var keep []client.Service
		for _, s := range env.Services {
			if s.Name == service {
				keep = append(keep, s)
			}
		}
		if len(keep) == 0 {
			res.err = exitf(ExitUsage, "%s: unknown service %q", res.Environment, service)
			res.Error = fmt.Sprintf("unknown service %q", service)
		}
		env.Services = keep
	}
	if env.Services == nil {
		env.Services = []client.Service{}
	}
	res.Status = &env
	return res
}

func writeStatusTable(w io.Writer, results []statusResult) {
	answered := false
	for _, r := range results {
		answered = answered || r.Status != nil
	}
	if !answered {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENVIRONMENT\tSERVICE\tVERSION\tSTATUS\tREASON\tREPLICAS\tUPDATED")
	for _, r := range results {
		if r.Status == nil {
			continue
		}
		for _, s := range r.Status.Services {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%d\n", r.Environment, s.Name, orDash(s.Version),
				s.Status, orDash(s.Reason), s.Replicas.Ready, s.Replicas.Desired, s.Replicas.Updated)
		}
	}
	_ = tw.Flush()
	for _, r := range results {
		if r.Status != nil && r.Status.Sync.Error != "" {
			// An invalid revision's errors come one a line: indented
			// under the environment's line.
			msg := strings.ReplaceAll(strings.TrimRight(r.Status.Sync.Error, "\n"), "\n", "\n  ")
			fmt.Fprintf(w, "%s: last sync %s: %s\n", r.Environment, r.Status.Sync.Status, msg)
		}
	}
}

// statusFailure prints each environment's error and returns the one with
// the highest exit code.
func statusFailure(w io.Writer, results []statusResult) error {
	var worst error
	for _, r := range results {
		if r.err == nil {
			continue
		}
		if worst == nil || exitCode(r.err) > exitCode(worst) {
			worst = r.err
		}
	}
	for _, r := range results {
		if r.err != nil && !errors.Is(r.err, worst) {
			fmt.Fprintln(w, "error:", r.err)
		}
	}
	return worst
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
