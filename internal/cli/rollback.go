package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/envop/envop/internal/client"
)

func newRollbackCmd(streams Streams) *cobra.Command {
	var cf clientFlags
	var wf waitFlags
	cmd := &cobra.Command{
		Use:   "rollback SERVICE [VERSION] [--wait]",
		Short: "Return a service to an earlier version (default: the last that succeeded before the current)",
		Long: `Rollback asks each environment's operator, in order, to return SERVICE to VERSION, or without
VERSION to the last version that succeeded before the current one (POST /rollback). --wait, --timeout
and the exit status are those of deploy.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := wf.check(); err != nil {
				return err
			}
			service, version := args[0], ""
			if len(args) == 2 {
				version = args[1]
			}
			if strings.TrimSpace(service) == "" {
				return exitf(ExitUsage, "SERVICE must not be empty")
			}
			ts, err := cf.targets(cmd.Flags(), false)
			if err != nil {
				return err
			}
			r := newDeployRun(streams, cf.output, wf, "rollback", service, func(ctx context.Context, c *client.Client) (client.Deploy, error) {
				return c.Rollback(ctx, service, version)
			})
			return r.run(cmd.Context(), ts, cf.single(ts))
		},
	}
	cf.bind(cmd.Flags())
	wf.bind(cmd.Flags())
	return cmd
}
