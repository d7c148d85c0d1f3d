package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/client"
)

// auditResult is one environment's entry, as -o json|yaml prints it with
// several environments: the records of GET /audit, or the error.
type auditResult struct {
	Environment string               `json:"environment"`
	Endpoint    string               `json:"endpoint"`
	Audit       []client.AuditRecord `json:"audit,omitzero"`
	Error       string               `json:"error,omitempty"`

	err error
}

func newAuditCmd(streams Streams) *cobra.Command {
	var cf clientFlags
	var service string
	var limit int
	cmd := &cobra.Command{
		Use:   "audit [--service S] [--limit N]",
		Short: "Show who changed what, newest first",
		Long: `Audit asks each environment's operator for its audit records (GET /audit), all at once, and
prints them newest first, environment after environment.

Exit status: 0 every environment answered, 2 a request was refused, 3 an environment was
unreachable or failed. The other environments are still shown.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > 1000 {
				return exitf(ExitUsage, "--limit must be from 1 to 1000")
			}
			ts, err := cf.targets(cmd.Flags(), true)
			if err != nil {
				return err
			}
			results := eachTarget(cmd.Context(), ts, func(ctx context.Context, t target) auditResult {
				return auditOf(ctx, t, service, limit)
			})
			if cf.output != "" {
				err := writeResults(streams.Out, cf.output, cf.single(ts), results, func(res auditResult) any {
					if res.err != nil {
						return nil
					}
					return res.Audit // GET /audit
				})
				if err != nil {
					return err
				}
			} else if err := writeAuditTable(streams, results); err != nil {
				return err
			}
			return worstFailure(streams.Err, resultErrors(results, func(r auditResult) error { return r.err }))
		},
	}
	cf.bind(cmd.Flags())
	cmd.Flags().StringVar(&service, "service", "", "only this service's records")
	cmd.Flags().IntVar(&limit, "limit", 50, "most records per environment (1-1000)")
	return cmd
}

func auditOf(ctx context.Context, t target, service string, limit int) auditResult {
	res := auditResult{Environment: t.Name, Endpoint: t.Client.Endpoint()}
	records, err := t.Client.Audit(ctx, service, limit)
	if err != nil {
		res.err = apiFailure(t, fmt.Errorf("audit: %w", err))
		res.Error = err.Error()
		return res
	}
	if records == nil {
		records = []client.AuditRecord{}
	}
	res.Audit = records
	return res
}

// writeAuditTable prints the records of the environments that answered,
// nothing when none did.
func writeAuditTable(streams Streams, results []auditResult) error {
	answered := false
	for _, r := range results {
		answered = answered || r.err == nil
	}
	if !answered {
		return nil
	}
	tw := tabwriter.NewWriter(streams.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENVIRONMENT\tTIME\tACTOR\tACTION\tSERVICE\tVERSION\tRESULT\tMESSAGE")
	for _, r := range results {
		for _, a := range r.Audit {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Environment, a.Time.UTC().Format(time.RFC3339),
				orDash(a.Actor), a.Action, orDash(a.Service), orDash(a.Version), a.Result, audit.Truncate(a.Message, 80))
		}
	}
	return tw.Flush()
}
