package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/envop/envop/internal/client"
)

// statusResult is one environment's entry, as -o json|yaml prints it with
// several environments.
type statusResult struct {
	Environment string `json:"environment"`
	Endpoint    string `json:"endpoint"`
	// Status is the operator's answer: GET /status (a *client.Environment),
	// or GET /status/{service} (a *client.Service) when a service is named.
	Status any    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`

	services []client.Service // the table's rows
	sync     client.Sync
	err      error
}

func newStatusCmd(streams Streams) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "status [SERVICE] [--env all|a,b]",
		Short: "Show the services of one or several environments, queried in parallel",
		Long: `Status asks each environment's operator for its status (GET /status, or GET /status/SERVICE),
all at once, and prints a table of services (environment, service, version, status, reason,
replicas) or, with -o json|yaml, each environment's answer. --env all means every environment of
the config file.

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
					return res.Status // nil when it failed: nothing is printed
				})
				if err != nil {
					return err
				}
			} else {
				writeStatusTable(streams.Out, results)
			}
			return worstFailure(streams.Err, resultErrors(results, func(r statusResult) error { return r.err }))
		},
	}
	cf.bind(cmd.Flags())
	return cmd
}

// queryStatus asks every target at once; results keep the targets' order.
func queryStatus(ctx context.Context, ts []target, service string) []statusResult {
	return eachTarget(ctx, ts, func(ctx context.Context, t target) statusResult {
		return statusOf(ctx, t, service)
	})
}

// statusOf asks one target for its status, or with service for that
// service's (GET /status/{service}, which answers 404 for an unknown one).
func statusOf(ctx context.Context, t target, service string) statusResult {
	res := statusResult{Environment: t.Name, Endpoint: t.Client.Endpoint()}
	fail := func(err error) statusResult {
		res.err = apiFailure(t, err)
		res.Error = err.Error()
		return res
	}
	if service != "" {
		s, err := t.Client.ServiceStatus(ctx, service)
		if err != nil {
			return fail(err)
		}
		res.Status, res.services = &s, []client.Service{s}
		return res
	}
	env, err := t.Client.Status(ctx)
	if err != nil {
		return fail(err)
	}
	if t.direct && env.Environment != "" {
		res.Environment = env.Environment // a better name for the table than a host
	}
	if env.Services == nil {
		env.Services = []client.Service{}
	}
	res.Status, res.services, res.sync = &env, env.Services, env.Sync
	return res
}

func writeStatusTable(w io.Writer, results []statusResult) {
	answered := false
	for _, r := range results {
		answered = answered || r.err == nil
	}
	if !answered {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENVIRONMENT\tSERVICE\tVERSION\tSTATUS\tREASON\tREPLICAS\tUPDATED")
	for _, r := range results {
		for _, s := range r.services {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%d\n", r.Environment, s.Name, orDash(s.Version),
				s.Status, orDash(s.Reason), s.Replicas.Ready, s.Replicas.Desired, s.Replicas.Updated)
		}
	}
	_ = tw.Flush()
	for _, r := range results {
		if r.sync.Error != "" {
			// An invalid revision's errors come one a line: indented
			// under the environment's line.
			msg := strings.ReplaceAll(strings.TrimRight(r.sync.Error, "\n"), "\n", "\n  ")
			fmt.Fprintf(w, "%s: last sync %s: %s\n", r.Environment, r.sync.Status, msg)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
