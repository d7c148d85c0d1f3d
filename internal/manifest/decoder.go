package manifest

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"
)

// decoder walks yaml.Nodes instead of unmarshalling into structs so that
// every value keeps its position and every mistake is collected rather than
// ending the decode.
type decoder struct {
	file  string
	diags Diagnostics
	pos   map[string]Pos
	// childPos are the positions recorded by decoders forked for parts of
	// a long list (see parallelList).
	childPos []map[string]Pos
	// aliasFree is set when the text holds no alias, so no part of the
	// tree is visited twice and the budget cannot run out.
	aliasFree bool
	// budget bounds the nodes visited, so aliases that expand into huge or
	// cyclic trees cannot stall the loader.
	budget    int
	exhausted bool
	depth     int
}

// maxDepth bounds nesting; no valid file comes close.
const maxDepth = 64

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.diags = append(d.diags, Diagnostic{
		File: d.file, Line: n.Line, Col: n.Column, Path: path,
		Message: fmt.Sprintf(format, args...), Severity: SeverityError,
	})
}

func (d *decoder) record(path string, n *yaml.Node) {
	d.pos[path] = Pos{Line: n.Line, Col: n.Column}
}

// resolve follows aliases and charges the node budget. It returns nil when
// the budget is spent; callers then stop descending.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	if n == nil || n.Kind == yaml.AliasNode {
		return nil
	}
	d.budget--
	if d.budget < 0 {
		if !d.exhausted {
			d.exhausted = true
			d.errorf(n, "", "document too large or aliases nested too deeply")
		}
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int":
			return "an integer " + n.Value
		case "!!float":
			return "a number " + n.Value
		case "!!bool":
			return "a boolean " + n.Value
		case "!!null":
			return "null"
		}
		return strconv.Quote(n.Value)
	}
	return "an unsupported value"
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func itemPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// keyPath names a map entry: labels.team, or labels["example.com/team"] when
// the key would be ambiguous after a dot.
func keyPath(path, key string) string {
	for _, r := range key {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return path + "[" + strconv.Quote(key) + "]"
		}
	}
	return joinPath(path, key)
}

// str accepts any scalar and keeps it as written, so `version: 1.10` is
// "1.10" and not the number 1.1: the original format relied on this.
func (d *decoder) str(n *yaml.Node, path string) string {
	if n = d.resolve(n); n == nil || isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!binary" {
		d.errorf(n, path, "expected a string, got %s", describe(n))
		return ""
	}
	return n.Value
}

func (d *decoder) integer(n *yaml.Node, path string, lo, hi int64) (int64, bool) {
	if n = d.resolve(n); n == nil || isNull(n) {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.errorf(n, path, "expected an integer, got %s", describe(n))
		return 0, false
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil {
		if derr := n.Decode(&v); derr != nil {
			d.errorf(n, path, "integer %s out of range", n.Value)
			return 0, false
		}
	}
	if v < lo || v > hi {
		d.errorf(n, path, "must be between %d and %d, got %d", lo, hi, v)
		return 0, false
	}
	return v, true
}

func (d *decoder) int32(n *yaml.Node, path string) int32 {
	v, _ := d.integer(n, path, math.MinInt32, math.MaxInt32)
	return int32(v)
}

func (d *decoder) int32Ptr(n *yaml.Node, path string) *int32 {
	v, ok := d.integer(n, path, math.MinInt32, math.MaxInt32)
	if !ok {
		return nil
	}
	i := int32(v)
	return &i
}

func (d *decoder) int64Ptr(n *yaml.Node, path string) *int64 {
	v, ok := d.integer(n, path, math.MinInt64, math.MaxInt64)
	if !ok {
		return nil
	}
	return &v
}

// boolean accepts YAML booleans and, because the original format quoted
// them (ssl: "true") and used YAML 1.1, the strings true/false/yes/no/on/off.
func (d *decoder) boolean(n *yaml.Node, path string) bool {
	if n = d.resolve(n); n == nil || isNull(n) {
		return false
	}
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!bool" || n.Tag == "!!str") {
		switch strings.ToLower(n.Value) {
		case "true", "yes", "on":
			return true
		case "false", "no", "off", "":
			return false
		}
	}
	d.errorf(n, path, "expected true or false, got %s", describe(n))
	return false
}

// boolPtr is boolean for a setting whose absence counts.
func (d *decoder) boolPtr(n *yaml.Node, path string) *bool {
	b := d.boolean(n, path)
	return &b
}

// list calls each for every item of a sequence.
func (d *decoder) list(n *yaml.Node, path string, each func(item *yaml.Node, path string)) {
	items, ok := d.items(n, path)
	if !ok {
		return
	}
	d.depth++
	defer func() { d.depth-- }()
	for i, item := range items {
		p := itemPath(path, i)
		d.record(p, item)
		each(item, p)
	}
}

// items returns the items of a list node, reporting a value that is not a
// list; ok is false when there is nothing to descend into.
func (d *decoder) items(n *yaml.Node, path string) (items []*yaml.Node, ok bool) {
	if n = d.resolve(n); n == nil || isNull(n) {
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "expected a list, got %s", describe(n))
		return nil, false
	}
	if d.depth >= maxDepth {
		d.errorf(n, path, "nested too deeply")
		return nil, false
	}
	return n.Content, true
}

// parallelRun is how many items of a long list one forked decoder takes.
const parallelRun = 64

// parallelList decodes a list of independent items (the services of an
// environment). In a file without aliases a long list is cut into runs
// decoded side by side, each by a decoder of its own; their diagnostics
// and positions are merged in list order, so the result is what one
// decoder gives. (With aliases the node budget, which bounds what aliases
// can expand to, must be spent in order, so the list is decoded in turn.)
func parallelList[T any](d *decoder, n *yaml.Node, path string, decode func(d *decoder, item *yaml.Node, path string) T) []T {
	items, ok := d.items(n, path)
	if !ok || len(items) == 0 {
		return nil
	}
	out := make([]T, len(items))
	runs := (len(items) + parallelRun - 1) / parallelRun
	if !d.aliasFree || runs < 2 || runtime.GOMAXPROCS(0) < 2 {
		d.depth++
		defer func() { d.depth-- }()
		for i, item := range items {
			p := itemPath(path, i)
			d.record(p, item)
			out[i] = decode(d, item, p)
		}
		return out
	}
	forks := make([]*decoder, runs)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for r := range forks {
		fork := &decoder{file: d.file, pos: make(map[string]Pos, 32*parallelRun), budget: d.budget,
			depth: d.depth + 1, aliasFree: true}
		forks[r] = fork
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			for i := r * parallelRun; i < min((r+1)*parallelRun, len(items)); i++ {
				p := itemPath(path, i)
				fork.record(p, items[i])
				out[i] = decode(fork, items[i], p)
			}
		})
	}
	wg.Wait()
	left := d.budget
	for _, fork := range forks {
		d.diags = append(d.diags, fork.diags...)
		d.budget -= left - fork.budget
		d.childPos = append(d.childPos, fork.pos)
		d.childPos = append(d.childPos, fork.childPos...)
	}
	return out
}

func (d *decoder) strList(n *yaml.Node, path string) []string {
	var out []string
	d.list(n, path, func(item *yaml.Node, p string) {
		out = append(out, d.str(item, p))
	})
	return out
}

// strOrList accepts one string or a list of them (external_url, modes).
func (d *decoder) strOrList(n *yaml.Node, path string) []string {
	if r := d.resolve(n); r != nil && r.Kind == yaml.ScalarNode {
		if isNull(r) {
			return nil
		}
		return []string{d.str(r, path)}
	}
	return d.strList(n, path)
}

// hosts reads host names (external_url, custom_urls). Host names are
// case-insensitive and an Ingress takes them in lowercase only; the
// original took any case, so they are lowered, with a warning.
func (d *decoder) hosts(n *yaml.Node, path string) []string {
	hosts := d.strOrList(n, path)
	for i, h := range hosts {
		lower := strings.ToLower(h)
		if lower == h || len(validation.IsWildcardDNS1123Subdomain(lower)) > 0 && len(validation.IsDNS1123Subdomain(lower)) > 0 {
			continue // validation reports what else is wrong, as written
		}
		hp := itemPath(path, i)
		pos, ok := d.pos[hp]
		if !ok {
			hp, pos = path, Pos{Line: n.Line, Col: n.Column}
		}
		d.diags = append(d.diags, Diagnostic{File: d.file, Line: pos.Line, Col: pos.Col, Path: hp, Severity: SeverityWarning,
			Message: fmt.Sprintf("host %q is taken as %q: host names are case-insensitive and an Ingress takes lowercase only", h, lower)})
		hosts[i] = lower
	}
	return hosts
}

func (d *decoder) strMap(n *yaml.Node, path string) map[string]string {
	out := map[string]string{}
	for _, p := range d.pairs(n, path) {
		kp := keyPath(path, p.key)
		d.record(kp, p.value)
		out[p.key] = d.str(p.value, kp)
	}
	return out
}

// nameValueMap accepts annotations as a map or as the original's list of
// {name, value}.
func (d *decoder) nameValueMap(n *yaml.Node, path string) map[string]string {
	r := d.resolve(n)
	if r == nil || r.Kind != yaml.SequenceNode {
		return d.strMap(n, path)
	}
	out := map[string]string{}
	d.list(r, path, func(item *yaml.Node, p string) {
		var nv NameValue
		decodeStruct(d, item, p, &nv, nameValueFields)
		if nv.Name == "" {
			d.errorf(item, joinPath(p, "name"), "required")
			return
		}
		out[nv.Name] = nv.Value
	})
	return out
}

type pair struct {
	key     string
	keyNode *yaml.Node
	value   *yaml.Node
}

// pairs returns the entries of a mapping, with YAML merge keys (<<) applied
// as the original's YAML library did, and reports duplicate keys.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	if n = d.resolve(n); n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got %s", describe(n))
		return nil
	}
	if d.depth >= maxDepth {
		d.errorf(n, path, "nested too deeply")
		return nil
	}
	d.depth++
	defer func() { d.depth-- }()
	var out, merged []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merged = append(merged, d.mergePairs(v, path)...)
			continue
		}
		key := d.key(k, path)
		if seen[key] {
			d.errorf(k, keyPath(path, key), "duplicate field")
			continue
		}
		seen[key] = true
		out = append(out, pair{key: key, keyNode: k, value: v})
	}
	for _, p := range merged {
		if !seen[p.key] {
			seen[p.key] = true
			out = append(out, p)
		}
	}
	return out
}

func (d *decoder) key(k *yaml.Node, path string) string {
	if k = d.resolve(k); k == nil {
		return ""
	}
	if k.Kind != yaml.ScalarNode {
		d.errorf(k, path, "a key must be a string, got %s", describe(k))
		return ""
	}
	return k.Value
}

func (d *decoder) mergePairs(v *yaml.Node, path string) []pair {
	r := d.resolve(v)
	if r == nil {
		return nil
	}
	if r.Kind != yaml.SequenceNode {
		return d.pairs(r, path)
	}
	var out []pair
	for _, item := range r.Content {
		out = append(out, d.pairs(item, path)...)
	}
	return out
}

// fieldTable maps the keys a mapping may hold to how each is decoded. The
// tables double as the list of known fields that the JSON Schema test checks.
type fieldTable[T any] map[string]func(d *decoder, n *yaml.Node, path string, v *T)

// decodeStruct decodes a mapping through its field table, reporting unknown
// fields at the key so the user sees the typo itself.
func decodeStruct[T any](d *decoder, n *yaml.Node, path string, v *T, table fieldTable[T]) {
	for _, p := range d.pairs(n, path) {
		fp := joinPath(path, p.key)
		d.record(fp, p.value)
		f, ok := table[p.key]
		if !ok {
			d.errorf(p.keyNode, fp, "unknown field%s", cmp.Or(didYouMean(p.key, table), misplaced(path, p.key)))
			continue
		}
		if isNull(p.value) {
			continue
		}
		f(d, p.value, fp, v)
	}
}
