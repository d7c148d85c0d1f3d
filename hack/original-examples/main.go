// Command original-examples checks that the environment files shown in the
// original Environment Operator's documentation load in envop: it takes
// every fenced code block of the Markdown files under --dir (a checkout of
// that project's docs folder, or of the whole project), and loads each one
// that is a whole environments file as `envop validate` does, printing PASS
// or FAIL with the diagnostics, placed at their line in the Markdown file.
// Gist files an example names are created empty next to it (a ConfigMap
// manifest with no data for a gist's path), so that a file the
// documentation does not ship is not what fails. Blocks that are not whole
// files are listed as skipped: fragments of one (a service, an hpa block),
// Kubernetes objects, JSON and commands.
//
//	go run ./hack/original-examples --dir PATH/TO/docs
//
// It exits 1 when an example fails, 2 on bad usage.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"

	"go.yaml.in/yaml/v3"

	"github.com/envop/envop/internal/cli"
	"github.com/envop/envop/internal/manifest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	var usage usageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "original-examples:", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "original-examples:", err)
		os.Exit(1)
	}
}

// usageError is a mistake in the command line.
type usageError struct{ error }

// errFailed says that an example failed; the output says which.
var errFailed = errors.New("some examples do not load")

func run(ctx context.Context, args []string, out io.Writer) error {
	fl := flag.NewFlagSet("original-examples", flag.ContinueOnError)
	fl.SetOutput(out)
	dir := fl.String("dir", "", "the original project's docs folder, or the project itself")
	work := fl.String("work", "", "folder to write the examples to (default: a temporary folder, removed afterwards)")
	if err := fl.Parse(args); err != nil {
		return usageError{err}
	}
	if *dir == "" || fl.NArg() > 0 {
		return usageError{errors.New("usage: original-examples --dir DOCS [--work DIR]")}
	}
	docs, err := markdownFiles(*dir)
	if err != nil {
		return err
	}
	if len(docs) == 0 {
		return usageError{fmt.Errorf("no Markdown files under %s", *dir)}
	}
	if *work == "" {
		tmp, err := os.MkdirTemp("", "original-examples-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		*work = tmp
	}
	var sum summary
	for _, doc := range docs {
		if err := checkDoc(ctx, *dir, doc, *work, out, &sum); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "\n%d whole files: %d pass, %d fail; skipped: %d fragments, %d other blocks\n",
		sum.pass+sum.fail, sum.pass, sum.fail, sum.fragments, sum.other)
	if sum.fail > 0 {
		return errFailed
	}
	return nil
}

type summary struct{ pass, fail, fragments, other int }

// markdownFiles lists the Markdown files under dir, sorted, leaving out
// vendored and hidden folders.
func markdownFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir && (d.Name() == "vendor" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".md") {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// block is a fenced code block of a Markdown file.
type block struct {
	number int    // 1-based, among the file's fenced blocks
	line   int    // the line of its first content line in the file
	indent int    // the indentation of its fence, taken off every line
	text   string // its content
}

// fence matches the opening or closing line of a fenced block.
var fence = regexp.MustCompile("^( *)(```+|~~~+)")

// blocks returns the fenced code blocks of a Markdown text.
func blocks(text []byte) []block {
	var out []block
	var cur *block
	var marker string
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		m := fence.FindStringSubmatch(line)
		switch {
		case cur == nil && m != nil:
			marker = m[2]
			cur = &block{number: len(out) + 1, line: n + 1, indent: len(m[1])}
		case cur != nil && m != nil && strings.HasPrefix(m[2], marker) && strings.TrimSpace(line[len(m[0]):]) == "":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cut := min(cur.indent, len(line)-len(strings.TrimLeft(line, " ")))
			cur.text += line[cut:] + "\n"
		}
	}
	return out
}

// Kinds of block.
const (
	kindWhole    = "whole file"
	kindFragment = "fragment"
	kindBroken   = "fragment that is not valid YAML"
	kindObject   = "Kubernetes object"
	kindJSON     = "JSON"
	kindOther    = "not YAML"
)

var (
	topLevelKey = regexp.MustCompile(`(?m)^(project|environments):`)
	objectKey   = regexp.MustCompile(`(?m)^(apiVersion|kind):`)
	// yamlKey is a line that looks like a YAML key, a list item's or not.
	yamlKey = regexp.MustCompile(`(?m)^\s*(- )?[A-Za-z_][A-Za-z0-9_]*:(\s|$)`)
)

// classify says what a block holds. A whole environments file has a top
// level project or environments key; that is read from the text, since an
// example that does not parse must still be tried (and fail).
func classify(text string) string {
	trimmed := strings.TrimSpace(text)
	switch {
	case topLevelKey.MatchString(text):
		return kindWhole
	case strings.HasPrefix(trimmed, "{") || strings.HasPrefix(trimmed, "["):
		return kindJSON
	case objectKey.MatchString(text):
		return kindObject
	}
	var n yaml.Node
	if yaml.Unmarshal([]byte(text), &n) == nil && len(n.Content) == 1 &&
		(n.Content[0].Kind == yaml.MappingNode || n.Content[0].Kind == yaml.SequenceNode) {
		return kindFragment
	}
	if yamlKey.MatchString(text) {
		return kindBroken
	}
	return kindOther
}

func checkDoc(ctx context.Context, root, doc, work string, out io.Writer, sum *summary) error {
	text, err := os.ReadFile(doc)
	if err != nil {
		return err
	}
	name, err := filepath.Rel(root, doc)
	if err != nil {
		name = doc
	}
	name = filepath.ToSlash(name)
	for _, b := range blocks(text) {
		where := fmt.Sprintf("%s block %d (line %d)", name, b.number, b.line-1)
		switch kind := classify(b.text); kind {
		case kindWhole:
			dir := filepath.Join(work, fmt.Sprintf("%s-%d", strings.NewReplacer("/", "_", ".", "_").Replace(name), b.number))
			pass, diags, err := check(ctx, dir, b.text)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			verdict := "PASS"
			if pass {
				sum.pass++
			} else {
				sum.fail++
				verdict = "FAIL"
			}
			fmt.Fprintf(out, "%s  %s\n", verdict, where)
			for _, d := range diags {
				// At its place in the Markdown file.
				d.File, d.Line, d.Col = name, d.Line+b.line-1, d.Col+b.indent
				fmt.Fprintf(out, "      %s\n", d)
			}
		case kindFragment, kindBroken:
			sum.fragments++
			fmt.Fprintf(out, "skip  %s: %s, skipped\n", where, kind)
		default:
			sum.other++
			fmt.Fprintf(out, "skip  %s: %s, skipped\n", where, kind)
		}
	}
	return nil
}

// check writes an example and the gist files it names into dir and loads
// it as `envop validate` does. It returns whether it is valid, and the
// diagnostics, at their line and column in the example.
func check(ctx context.Context, dir, text string) (bool, manifest.Diagnostics, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, nil, err
	}
	file := filepath.Join(dir, manifest.DefaultFile)
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		return false, nil, err
	}
	if err := writeGists(dir, text); err != nil {
		return false, nil, err
	}
	var stdout, stderr bytes.Buffer
	code := cli.Run(ctx, cli.Streams{In: strings.NewReader(""), Out: &stdout, Err: &stderr,
		Getenv: func(string) string { return "" }}, []string{"validate", "-o", "json", file})
	var res struct {
		Valid       bool                 `json:"valid"`
		Diagnostics manifest.Diagnostics `json:"diagnostics"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return false, nil, fmt.Errorf("envop validate (exit %d): %s", code, strings.TrimSpace(stderr.String()))
	}
	return code == cli.ExitOK && res.Valid, res.Diagnostics, nil
}

// writeGists creates, empty, the files the example's gists name, when it
// parses: a ConfigMap manifest with no data for a gist's path, an empty
// file for each of its files. Paths that leave the folder are left to the
// loader to refuse.
func writeGists(dir, text string) error {
	var f struct {
		Environments []struct {
			Gists []struct {
				Path  any `yaml:"path"`
				Files any `yaml:"files"`
			} `yaml:"gists"`
		} `yaml:"environments"`
	}
	if yaml.Unmarshal([]byte(text), &f) != nil {
		return nil
	}
	for _, e := range f.Environments {
		for _, g := range e.Gists {
			if p, ok := g.Path.(string); ok {
				if err := writeLocal(dir, p, "apiVersion: v1\nkind: ConfigMap\n"); err != nil {
					return err
				}
			}
			for _, p := range strings1(g.Files) {
				if err := writeLocal(dir, p, ""); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// strings1 is a string or a list of strings as a list.
func strings1(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func writeLocal(dir, p, content string) error {
	if p == "" || !filepath.IsLocal(filepath.FromSlash(p)) {
		return nil
	}
	full := filepath.Join(dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	return os.WriteFile(full, []byte(content), 0o644)
}
