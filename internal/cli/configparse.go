package cli

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/envop/envop/internal/audit"
)

// maxConfigProblems bounds the problems reported of one config file.
const maxConfigProblems = 50

// configFields are the keys of an environment, as the error for an
// unknown one lists them.
const configFields = "endpoint, token, token_env, token_file, ca_file or insecure_skip_verify"

// configProblem is one problem of a config file, in the file's terms.
type configProblem struct {
	line int
	path string // environments.NAME.field; empty for the whole file
	msg  string
}

// configError is every problem of a config file, one a line, as
// FILE:LINE: path: what is wrong.
type configError struct {
	File     string
	problems []configProblem
}

func (e *configError) Error() string {
	var b strings.Builder
	for i, p := range e.problems {
		if i == maxConfigProblems {
			fmt.Fprintf(&b, "\n... and %d more", len(e.problems)-i)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.File)
		if p.line > 0 {
			fmt.Fprintf(&b, ":%d", p.line)
		}
		b.WriteString(": ")
		if p.path != "" {
			b.WriteString(p.path + ": ")
		}
		b.WriteString(p.msg)
	}
	return b.String()
}

// configParser walks a config file's YAML nodes, so that every problem is
// found with its line, rather than the first one a decoder meets.
type configParser struct {
	problems []configProblem
}

func (p *configParser) bad(line int, path, format string, args ...any) {
	p.problems = append(p.problems, configProblem{line: line, path: path, msg: fmt.Sprintf(format, args...)})
}

// parseClientConfig parses a config file, named file in errors, and checks
// it: every problem of the file is in the *configError returned.
func parseClientConfig(file string, data []byte) (*clientConfig, error) {
	p := &configParser{}
	cfg := &clientConfig{Environments: map[string]envEntry{}}
	if root := p.document(data); root != nil {
		p.root(cfg, root)
	}
	if len(p.problems) > 0 {
		slices.SortStableFunc(p.problems, func(a, b configProblem) int { return a.line - b.line })
		return nil, &configError{File: file, problems: p.problems}
	}
	return cfg, nil
}

var yamlErrorLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document returns the file's one document's content, or nil after
// recording why there is none.
func (p *configParser) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) || err == nil && len(doc.Content) == 0 {
		p.bad(0, "", "empty: want an environments: map of NAME: {endpoint, token_env | token_file | token}")
		return nil
	}
	if err != nil {
		p.syntax(err)
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil && len(extra.Content) > 0:
		p.bad(extra.Content[0].Line, "", "a second YAML document: the file holds one")
	case err != nil && !errors.Is(err, io.EOF):
		p.syntax(err)
	}
	return doc.Content[0]
}

// syntax records a YAML syntax error, with its line when it has one.
func (p *configParser) syntax(err error) {
	if m := yamlErrorLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.bad(line, "", "invalid YAML: %s", m[2])
		return
	}
	p.bad(0, "", "invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
}

func (p *configParser) root(cfg *clientConfig, n *yaml.Node) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		p.bad(n.Line, "", "want a map holding environments:")
		return
	}
	var envs *yaml.Node
	p.fields(n, "", func(key string, k, v *yaml.Node) {
		if key != "environments" {
			p.bad(k.Line, key, "unknown field (the file holds environments:)")
			return
		}
		envs = v
	})
	if envs == nil {
		p.bad(n.Line, "environments", "missing: want a map of NAME: {endpoint, token_env | token_file | token}")
		return
	}
	p.environments(cfg, envs)
}

// fields calls each for every key of the map n in order, after reporting
// keys that are not names and keys given twice.
func (p *configParser) fields(n *yaml.Node, path string, each func(key string, k, v *yaml.Node)) {
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.bad(k.Line, path, "a key must be a name, not a map or a list")
			continue
		}
		if line, ok := first[k.Value]; ok {
			p.bad(k.Line, join(path, k.Value), "duplicate key: already set on line %d", line)
			continue
		}
		first[k.Value] = k.Line
		each(k.Value, k, v)
	}
}

func (p *configParser) environments(cfg *clientConfig, n *yaml.Node) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode && !isNull(n) {
		p.bad(n.Line, "environments", "want a map of NAME: {endpoint, token_env | token_file | token}")
		return
	}
	p.fields(n, "environments", func(name string, k, v *yaml.Node) {
		path := envPath(name)
		if name == "" || name == "all" || strings.ContainsAny(name, ", \t") {
			p.bad(k.Line, path, `invalid name: not empty, not "all", no commas or spaces`)
		}
		cfg.Environments[name] = p.entry(path, k, v)
		cfg.order = append(cfg.order, name)
	})
	if len(cfg.order) == 0 {
		p.bad(n.Line, "environments", "no environments: want a map of NAME: {endpoint, token_env | token_file | token}")
	}
}

// entry reads one environment and checks it; k is its name's node.
func (p *configParser) entry(path string, k, n *yaml.Node) envEntry {
	var e envEntry
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		p.bad(k.Line, path, "want a map: {endpoint, token_env | token_file | token}")
		return e
	}
	set := map[string]*yaml.Node{} // the keys given
	p.fields(n, path, func(key string, k, v *yaml.Node) {
		fpath := join(path, key)
		set[key] = k
		switch key {
		case "endpoint":
			e.Endpoint = p.str(fpath, v)
		case "token":
			e.Token = p.str(fpath, v)
		case "token_env":
			e.TokenEnv = p.str(fpath, v)
		case "token_file":
			e.TokenFile = p.str(fpath, v)
		case "ca_file":
			e.CAFile = p.str(fpath, v)
		case "insecure_skip_verify":
			e.InsecureSkipVerify = p.boolean(fpath, v)
		default:
			delete(set, key)
			p.bad(k.Line, fpath, "unknown field (want %s)", configFields)
		}
	})
	p.checkEntry(path, k.Line, e, set)
	return e
}

// checkEntry reports what is wrong with an environment's values: set
// holds the node of each key given.
func (p *configParser) checkEntry(path string, line int, e envEntry, set map[string]*yaml.Node) {
	if _, ok := set["endpoint"]; !ok {
		p.bad(line, path, "endpoint is required")
	} else if e.Endpoint == "" {
		p.bad(set["endpoint"].Line, join(path, "endpoint"), "empty: want an http:// or https:// URL")
	} else if err := checkEndpoint(e.Endpoint); err != nil {
		p.bad(set["endpoint"].Line, join(path, "endpoint"), "%v", err)
	}
	var sources []string
	for _, s := range []string{"token", "token_env", "token_file"} {
		if _, ok := set[s]; ok {
			sources = append(sources, s)
		}
	}
	switch len(sources) {
	case 0:
		p.bad(line, path, "no token: set one of token, token_env and token_file")
	case 1:
		value := map[string]string{"token": e.Token, "token_env": e.TokenEnv, "token_file": e.TokenFile}[sources[0]]
		if strings.TrimSpace(value) == "" {
			p.bad(set[sources[0]].Line, join(path, sources[0]), "empty")
		}
	case 2, 3:
		// Reported where the second source is given, named in file order.
		slices.SortFunc(sources, func(a, b string) int {
			return cmp.Or(set[a].Line-set[b].Line, set[a].Column-set[b].Column)
		})
		both := "both"
		if len(sources) == 3 {
			both = "all"
		}
		last := sources[len(sources)-1]
		p.bad(set[last].Line, join(path, last), "%s and %s %s give the token: keep one",
			strings.Join(sources[:len(sources)-1], ", "), last, both)
	}
}

// str reads a string value; null is empty.
func (p *configParser) str(path string, n *yaml.Node) string {
	n = resolve(n)
	switch {
	case isNull(n):
		return ""
	case n.Kind != yaml.ScalarNode:
		p.bad(n.Line, path, "want a string, not a %s", kindName(n))
		return ""
	}
	return n.Value
}

func (p *configParser) boolean(path string, n *yaml.Node) bool {
	n = resolve(n)
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		p.bad(n.Line, path, "want true or false, not %s", describe(n))
	}
	return b
}

// resolve follows an alias (*name) to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "map"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

func describe(n *yaml.Node) string {
	if isNull(n) && n.Value == "" {
		return "nothing"
	}
	if n.Kind == yaml.ScalarNode {
		return strconv.Quote(audit.Truncate(n.Value, 40))
	}
	return "a " + kindName(n)
}

var plainName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// envPath names an environment as error paths do: environments.staging,
// or environments["odd name"] when the name is not plain.
func envPath(name string) string {
	if plainName.MatchString(name) {
		return "environments." + name
	}
	return fmt.Sprintf("environments[%q]", name)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
