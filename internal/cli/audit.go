package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/envop/envop/internal/client"
)

// auditResult is one environment's records, as -o json|yaml prints them.
type auditResult struct {
	Environment string               `json:"environment"`
	Endpoint    string               `json:"endpoint"`
	Records     []client.AuditRecord `json:"records"`
}

func newAuditCmd(streams Streams) *cobra.Command {
	var cf clientFlags
	var service string
	var limit int
	cmd := &cobra.Command{
		Use:   "audit [--service S] [--limit N]",
		Short: "Show who changed what, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > 1000 {
				return exitf(ExitUsage, "--limit must be from 1 to 1000")
			}
			ts, err := cf.targets(cmd.Flags(), true)
			if err != nil {
				return err
			}
			var results []auditResult
			for _, t := range ts {
				records, err := t.Client.Audit(cmd.Context(), service, limit)
				if err != nil {
					return apiFailure(t, fmt.Errorf("audit: %w", err))
				}
				if records == nil {
					records = []client.AuditRecord{}
				}
				results = append(results, auditResult{Environment: t.Name, Endpoint: t.Client.Endpoint(), Records: records})
			}
			if cf.output != "" {
				return writeResults(streams.Out, cf.output, cf.single(ts), results, func(res auditResult) any {
					return res.Records
				})
			}
			tw := tabwriter.NewWriter(streams.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ENVIRONMENT\tTIME\tACTOR\tACTION\tSERVICE\tVERSION\tRESULT\tMESSAGE")
			for _, r := range results {
				for _, a := range r.Records {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Environment, a.Time.UTC().Format(time.RFC3339),
						orDash(a.Actor), a.Action, orDash(a.Service), orDash(a.Version), a.Result, truncate(a.Message, 80))
				}
			}
			return tw.Flush()
		},
	}
	cf.bind(cmd.Flags())
	cmd.Flags().StringVar(&service, "service", "", "only this service's records")
	cmd.Flags().IntVar(&limit, "limit", 50, "most records per environment (1-1000)")
	return cmd
}
