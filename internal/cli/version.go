package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/envop/envop/internal/version"
)

func newVersionCmd(streams Streams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of envop",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			info := version.Get()
			if output != "" {
				return writeMachine(streams.Out, output, info)
			}
			fmt.Fprintf(streams.Out, "envop %s (commit %s, %s, %s)\n", info.Version, orUnknown(info.Commit), info.GoVersion, info.Platform)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json or yaml")
	return cmd
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
