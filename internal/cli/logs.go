package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/envop/envop/internal/client"
)

// logsResult is one environment's entry, as -o json|yaml prints it with
// several environments: the pods of GET /status/{service}/pods, or the
// error.
type logsResult struct {
	Environment string       `json:"environment"`
	Endpoint    string       `json:"endpoint"`
	Service     string       `json:"service"`
	Pods        []client.Pod `json:"pods,omitzero"`
	Error       string       `json:"error,omitempty"`

	err error
}

func newLogsCmd(streams Streams) *cobra.Command {
	var cf clientFlags
	var lines int
	cmd := &cobra.Command{
		Use:   "logs SERVICE [--lines N]",
		Short: "Show a service's pods and their last log lines",
		Long: `Logs asks each environment's operator for SERVICE's pods and their last log lines
(GET /status/SERVICE/pods), all at once, and prints them environment after environment.

Exit status: 0 every environment answered, 2 a request was refused or SERVICE is unknown,
3 an environment was unreachable or failed. The other environments are still shown.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if lines < 1 || lines > 500 {
				return exitf(ExitUsage, "--lines must be from 1 to 500")
			}
			ts, err := cf.targets(cmd.Flags(), true)
			if err != nil {
				return err
			}
			service := args[0]
			results := eachTarget(cmd.Context(), ts, func(ctx context.Context, t target) logsResult {
				return podsOf(ctx, t, service, lines)
			})
			if cf.output != "" {
				err := writeResults(streams.Out, cf.output, cf.single(ts), results, func(res logsResult) any {
					if res.err != nil {
						return nil
					}
					return map[string][]client.Pod{"pods": res.Pods} // GET /status/{service}/pods
				})
				if err != nil {
					return err
				}
			} else {
				for _, r := range results {
					if r.err == nil {
						fmt.Fprintf(streams.Out, "%s: %s: %s\n", r.Environment, service, plural(len(r.Pods), "pod"))
						writePods(streams.Out, r.Pods, 0)
					}
				}
			}
			return worstFailure(streams.Err, resultErrors(results, func(r logsResult) error { return r.err }))
		},
	}
	cf.bind(cmd.Flags())
	cmd.Flags().IntVarP(&lines, "lines", "n", 100, "last log lines per pod (1-500)")
	return cmd
}

func podsOf(ctx context.Context, t target, service string, lines int) logsResult {
	res := logsResult{Environment: t.Name, Endpoint: t.Client.Endpoint(), Service: service}
	pods, err := t.Client.Pods(ctx, service, lines)
	if err != nil {
		res.err = apiFailure(t, fmt.Errorf("pods of %s: %w", service, err))
		res.Error = err.Error()
		return res
	}
	if pods == nil {
		pods = []client.Pod{}
	}
	res.Pods = pods
	return res
}
