package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/envop/envop/internal/manifest"
)

// validateOutput is the JSON form of `envop validate -o json`.
type validateOutput struct {
	File        string               `json:"file"`
	Valid       bool                 `json:"valid"`
	Diagnostics manifest.Diagnostics `json:"diagnostics"`
}

func newValidateCmd(streams Streams) *cobra.Command {
	var file, env, output, gistsDir string
	var policy policyFlags
	cmd := &cobra.Command{
		Use:   "validate [-f] FILE [--env NAME]",
		Short: "Check an environments.bitesize file and print every error and warning",
		Long: `Validate loads the file strictly and prints each problem as FILE:LINE:COL: path: message.
FILE may be given with -f or as the argument; without either, environments.bitesize in the
current folder is read. -o json|yaml prints {file, valid, diagnostics} instead.
--allowed-secrets, --allowed-hosts, --vault-path-prefix, --max-cpu-limit, --max-memory-limit and
--max-hpa-replicas (default: ALLOWED_SECRETS, ALLOWED_HOSTS, VAULT_PATH_PREFIX, LIMITS_MAX_CPU,
LIMITS_MAX_MEMORY, HPA_MAX_REPLICAS, as serve reads them) report what the operator's policy refuses,
as errors. Gist paths are looked up in the manifest's folder, else at the root of the git
repository the file is in, as the operator does. The gists of an environment that names a gists
repository (gists_repository) are looked up from the root of the local checkout --gists-dir gives;
without it they are not checked, and a warning says so.
Exit status: 0 valid (warnings allowed), 1 invalid, 2 bad usage or unreadable file.`,
		Args: manifestArg(&file),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			from, err := applyVariables(cmd.Flags(), streams.getenv)
			if err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			policy.fromEnv(streams.getenv)
			pol, err := policy.policy(from)
			if err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			if err := checkGistsDir(gistsDir); err != nil {
				return err
			}
			f, diags, err := loadManifest(file, env, gistsDir, pol)
			if err != nil {
				return err
			}
			if file == "" {
				file = manifest.DefaultFile
			}
			if output != "" {
				return writeValidateResult(streams, output, file, diags)
			}
			fmt.Fprint(streams.Err, diags.String())
			if diags.HasErrors() {
				return &ExitError{Code: ExitFailed}
			}
			fmt.Fprintf(streams.Out, "%s: valid (%s)\n", file, summary(f, env, diags))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "manifest file (environments.bitesize)")
	cmd.Flags().StringVar(&env, "env", "", "check only this environment")
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json or yaml")
	cmd.Flags().StringVar(&gistsDir, "gists-dir", "", gistsDirUsage)
	policy.bind(cmd.Flags())
	return cmd
}

func writeValidateResult(streams Streams, format, file string, diags manifest.Diagnostics) error {
	if diags == nil {
		diags = manifest.Diagnostics{}
	}
	if err := writeMachine(streams.Out, format, validateOutput{File: file, Valid: !diags.HasErrors(), Diagnostics: diags}); err != nil {
		return err
	}
	if diags.HasErrors() {
		return &ExitError{Code: ExitFailed}
	}
	return nil
}

// manifestArg accepts the manifest file as the command's one optional
// argument, in place of -f FILE.
func manifestArg(file *string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		switch {
		case len(args) > 1:
			return exitf(ExitUsage, "one manifest file at most, got %d arguments", len(args))
		case len(args) == 0:
			return nil
		case *file != "" && *file != args[0]:
			return exitf(ExitUsage, "two manifest files: -f %s and %s", *file, args[0])
		}
		*file = args[0]
		return nil
	}
}

// loadManifest reads and loads a manifest and checks it against the
// installer's policy, as the operator does, keeping only the diagnostics of
// env when one is named. Gists repositories are read from gistsDir (see
// gistsTree). A missing file or unknown environment is a usage error; a
// file too large to be a manifest is an invalid one.
func loadManifest(file, env, gistsDir string, policy manifest.Policy) (*manifest.File, manifest.Diagnostics, error) {
	if file == "" {
		if _, err := os.Stat(manifest.DefaultFile); err != nil {
			return nil, nil, exitf(ExitUsage, "no manifest: give -f FILE (there is no %s in the current folder)", manifest.DefaultFile)
		}
		file = manifest.DefaultFile
	}
	repo, name, err := repository(file)
	if err != nil {
		return nil, nil, exitf(ExitUsage, "%v", err)
	}
	f, diags, err := manifest.LoadFSWithGists(repo, name, gistsTree(gistsDir))
	switch {
	case errors.Is(err, manifest.ErrTooLarge):
		return nil, nil, exitf(ExitFailed, "%v", err)
	case err != nil:
		return nil, nil, exitf(ExitUsage, "%v", err)
	}
	if refused := policy.Check(f); len(refused) > 0 {
		diags = append(diags, refused...)
		diags.Sort()
	}
	for i := range diags {
		diags[i].File = file
	}
	if env == "" || f == nil {
		return f, diags, nil
	}
	var idx []int
	for i := range f.Environments {
		if f.Environments[i].Name == env {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		if diags.HasErrors() {
			return f, diags, nil // the name may be what failed to load
		}
		return nil, nil, exitf(ExitUsage, "environment %q not found in %s", env, file)
	}
	return f, forEnvironments(diags, idx), nil
}

// forEnvironments keeps the diagnostics of the environments at idx (more
// than one when a name is given twice, which is itself an error) and of the
// top level of the file.
func forEnvironments(diags manifest.Diagnostics, idx []int) manifest.Diagnostics {
	var out manifest.Diagnostics
	for _, d := range diags {
		keep := !strings.HasPrefix(d.Path, "environments[")
		for _, i := range idx {
			prefix := fmt.Sprintf("environments[%d]", i)
			keep = keep || d.Path == prefix || strings.HasPrefix(d.Path, prefix+".") || strings.HasPrefix(d.Path, prefix+"[")
		}
		if keep {
			out = append(out, d)
		}
	}
	return out
}

func summary(f *manifest.File, env string, diags manifest.Diagnostics) string {
	envs, services := 0, 0
	for _, e := range f.Environments {
		if env == "" || e.Name == env {
			envs++
			services += len(e.Services)
		}
	}
	return fmt.Sprintf("%s, %s, %s", plural(envs, "environment"), plural(services, "service"), plural(len(diags.Warnings()), "warning"))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// repository returns the repository a manifest file is in, as the
// operator sees its checkout, and the file's path in it: gist paths are
// looked up in the manifest's folder, then at the repository root. The
// root is the nearest folder above the file that holds .git; outside a
// git repository it is the file's own folder.
func repository(file string) (fs.FS, string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, "", fmt.Errorf("read manifest: %w", err)
	}
	root := filepath.Dir(abs)
	for dir := root; ; {
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			root = dir
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return nil, "", fmt.Errorf("read manifest: %w", err)
	}
	return os.DirFS(root), filepath.ToSlash(rel), nil
}
