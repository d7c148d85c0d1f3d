package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/envop/envop/internal/client"
)

// promoteResult is what -o json|yaml prints for each environment.
type promoteResult struct {
	Environment string `json:"environment"`
	Endpoint    string `json:"endpoint"`
	Service     string `json:"service"`
	Active      string `json:"active,omitempty"`
	Error       string `json:"error,omitempty"`
}

func newPromoteCmd(streams Streams) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "promote SERVICE",
		Short: "Switch a blue/green service's traffic to its other colour",
		Long: `Promote switches SERVICE's traffic to the colour that is not serving (POST /promote), in each
environment in order, stopping at the first refusal. The operator refuses (409, exit 2) when that
colour is not healthy.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := cf.targets(cmd.Flags(), false)
			if err != nil {
				return err
			}
			var results []promoteResult
			var failure error
			for _, t := range ts {
				res := promoteResult{Environment: t.Name, Endpoint: t.Client.Endpoint(), Service: args[0]}
				p, err := t.Client.Promote(cmd.Context(), args[0])
				if err != nil {
					res.Error = err.Error()
					results = append(results, res)
					failure = apiFailure(t, fmt.Errorf("promote %s: %w", args[0], err))
					break
				}
				res.Active = p.Active
				results = append(results, res)
				if cf.output == "" {
					fmt.Fprintf(streams.Out, "%s: %s now serves %s\n", t.Name, args[0], p.Active)
				}
			}
			if cf.output != "" {
				err := writeResults(streams.Out, cf.output, cf.single(ts), results, func(res promoteResult) any {
					if res.Error != "" {
						return nil
					}
					return client.Promotion{Service: res.Service, Active: res.Active}
				})
				if err != nil && failure == nil {
					return err
				}
			}
			return failure
		},
	}
	cf.bind(cmd.Flags())
	return cmd
}
