package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/envop/envop/internal/client"
)

// logsResult is one environment's pods, as -o json|yaml prints them.
type logsResult struct {
	Environment string       `json:"environment"`
	Endpoint    string       `json:"endpoint"`
	Service     string       `json:"service"`
	Pods        []client.Pod `json:"pods"`
}

func newLogsCmd(streams Streams) *cobra.Command {
	var cf clientFlags
	var lines int
	cmd := &cobra.Command{
		Use:   "logs SERVICE [--lines N]",
		Short: "Show a service's pods and their last log lines",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if lines < 1 || lines > 500 {
				return exitf(ExitUsage, "--lines must be from 1 to 500")
			}
			ts, err := cf.targets(cmd.Flags(), true)
			if err != nil {
				return err
			}
			var results []logsResult
			var failure error
			for _, t := range ts {
				pods, err := t.Client.Pods(cmd.Context(), args[0], lines)
				if err != nil {
					failure = apiFailure(t, fmt.Errorf("pods of %s: %w", args[0], err))
					break
				}
				if pods == nil {
					pods = []client.Pod{}
				}
				results = append(results, logsResult{Environment: t.Name, Endpoint: t.Client.Endpoint(), Service: args[0], Pods: pods})
				if cf.output == "" {
					fmt.Fprintf(streams.Out, "%s: %s: %s\n", t.Name, args[0], plural(len(pods), "pod"))
					writePods(streams.Out, pods, 0)
				}
			}
			if cf.output != "" {
				err := writeResults(streams.Out, cf.output, cf.single(ts), results, func(res logsResult) any {
					return map[string][]client.Pod{"pods": res.Pods} // GET /status/{service}/pods
				})
				if err != nil && failure == nil {
					return err
				}
			}
			return failure
		},
	}
	cf.bind(cmd.Flags())
	cmd.Flags().IntVarP(&lines, "lines", "n", 100, "last log lines per pod (1-500)")
	return cmd
}
