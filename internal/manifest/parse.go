package manifest

import (
	"bytes"
	"runtime"
	"sync"

	"go.yaml.in/yaml/v3"
)

// splitMinBytes is the size from which parse tries to split a file (on
// more than one CPU); below it one pass is faster than starting goroutines.
// Tests lower it.
var splitMinBytes = 64 << 10

// parse parses the YAML document. In a large file the items of each
// block-style `services:` list are parsed in parallel chunks, each chunk
// padded with blank lines so every position stays what a one-pass parse
// gives; the rest of the file (the skeleton, with those items blanked) is
// parsed beside them and the items are put back under their key. Whenever
// the text leaves any doubt — anchors, aliases, tags, flow collections or
// quotes spanning lines, several documents — or any part fails to parse,
// the one-pass parse runs instead, so errors always come from it. The tree
// is the same either way except for comments, which the decoder never
// reads (parse_test.go compares the two). split reports that the split
// ran, which also means the text holds no alias.
func parse(data []byte) (root *yaml.Node, split bool, err error) {
	if len(data) >= splitMinBytes && runtime.GOMAXPROCS(0) > 1 {
		if root := parseSplit(data); root != nil {
			return root, true, nil
		}
	}
	root = &yaml.Node{}
	if err := yaml.Unmarshal(data, root); err != nil {
		return nil, false, err
	}
	return root, false, nil
}

// itemBlock is the text of one `services:` list: the key's line and
// column (1-based) and the line ranges [start, end) (0-based) of its items.
type itemBlock struct {
	keyLine, keyCol int
	items           [][2]int
}

// chunk is a run of consecutive items of one block, parsed on its own.
type chunk struct {
	block      int
	start, end int // lines [start, end)
	count      int // items the line scan found
	items      []*yaml.Node
	ok         bool
}

func parseSplit(data []byte) *yaml.Node {
	lines := bytes.SplitAfter(data, []byte("\n"))
	blocks := findItemBlocks(lines)
	if len(blocks) == 0 {
		return nil
	}
	chunks := makeChunks(blocks, len(lines), runtime.GOMAXPROCS(0))

	skeleton := make([]byte, 0, len(data))
	blank := make([]bool, len(lines))
	for _, b := range blocks {
		for l := b.items[0][0]; l < b.items[len(b.items)-1][1]; l++ {
			blank[l] = true
		}
	}
	for i, l := range lines {
		if blank[i] {
			skeleton = append(skeleton, '\n')
		} else {
			skeleton = append(skeleton, l...)
		}
	}

	var (
		wg      sync.WaitGroup
		skelErr error
		skel    yaml.Node
	)
	wg.Go(func() { skelErr = yaml.Unmarshal(skeleton, &skel) })
	for i := range chunks {
		wg.Go(func() { parseChunk(&chunks[i], lines) })
	}
	wg.Wait()
	if skelErr != nil {
		return nil
	}
	for _, c := range chunks {
		if !c.ok {
			return nil
		}
	}
	for bi, b := range blocks {
		value := valueAt(&skel, b.keyLine, b.keyCol)
		if value == nil || value.Kind != yaml.ScalarNode || value.Tag != "!!null" || value.Value != "" {
			return nil // the key was not a mapping key after all (in a block scalar, say)
		}
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, c := range chunks {
			if c.block == bi {
				seq.Content = append(seq.Content, c.items...)
			}
		}
		seq.Line, seq.Column = b.items[0][0]+1, indentOf(lines[b.items[0][0]])+1
		*value = *seq
	}
	return &skel
}

// parseChunk parses lines [c.start, c.end) after c.start blank lines, so
// lines and columns are the file's.
func parseChunk(c *chunk, lines [][]byte) {
	size := c.start
	for _, l := range lines[c.start:c.end] {
		size += len(l)
	}
	text := make([]byte, 0, size)
	for range c.start {
		text = append(text, '\n')
	}
	for _, l := range lines[c.start:c.end] {
		text = append(text, l...)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil || len(doc.Content) != 1 ||
		doc.Content[0].Kind != yaml.SequenceNode || len(doc.Content[0].Content) != c.count {
		return
	}
	// An empty value takes the position of the token after it; past the
	// chunk's last line that token is the chunk's end, not the file's next
	// one, so such a chunk is left to the one-pass parse.
	if beyond(doc.Content[0], c.end) {
		return
	}
	c.items, c.ok = doc.Content[0].Content, true
}

// beyond reports whether any node starts after line last (1-based).
func beyond(n *yaml.Node, last int) bool {
	if n.Line > last {
		return true
	}
	for _, c := range n.Content {
		if beyond(c, last) {
			return true
		}
	}
	return false
}

// makeChunks cuts the blocks' items into about two chunks per worker, at
// item boundaries.
func makeChunks(blocks []itemBlock, totalLines, workers int) []chunk {
	target := max(totalLines/(2*max(workers, 1)), 1)
	var out []chunk
	for bi, b := range blocks {
		start, count := b.items[0][0], 0
		for i, it := range b.items {
			count++
			if it[1]-start >= target || i == len(b.items)-1 {
				out = append(out, chunk{block: bi, start: start, end: it[1], count: count})
				start, count = it[1], 0
			}
		}
	}
	return out
}

// valueAt finds the value of the mapping key at line and col.
func valueAt(n *yaml.Node, line, col int) *yaml.Node {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Line == line && k.Column == col && k.Kind == yaml.ScalarNode && k.Value == "services" {
				return n.Content[i+1]
			}
		}
	}
	for _, c := range n.Content {
		if v := valueAt(c, line, col); v != nil {
			return v
		}
	}
	return nil
}

// findItemBlocks finds every `services:` key whose value is a block list,
// with the line range of each item. It returns nothing when the file uses
// a construct whose extent a line scan cannot be sure of.
func findItemBlocks(lines [][]byte) []itemBlock {
	for _, l := range lines {
		if !plainLine(l) {
			return nil
		}
	}
	var blocks []itemBlock
	for i := 0; i < len(lines); i++ {
		ind, rest := indentOf(lines[i]), lineContent(lines[i])
		if !bytes.Equal(rest, []byte("services:")) {
			continue
		}
		b, next := itemsAfter(lines, i+1, ind)
		if len(b.items) > 0 {
			b.keyLine, b.keyCol = i+1, ind+1
			blocks = append(blocks, b)
			i = next - 1
		}
	}
	return blocks
}

// itemsAfter reads the block list starting after a key at indent keyInd:
// items begin with "- " at one indent (no less than the key's) and the list
// ends at the first line less indented, or as indented but not an item.
func itemsAfter(lines [][]byte, from, keyInd int) (itemBlock, int) {
	var b itemBlock
	itemInd := -1
	i := from
	for ; i < len(lines); i++ {
		rest := lineContent(lines[i])
		if len(rest) == 0 {
			continue // blank or comment
		}
		ind := indentOf(lines[i])
		isItem := rest[0] == '-' && (len(rest) == 1 || rest[1] == ' ')
		if itemInd < 0 {
			if !isItem || ind < keyInd {
				return itemBlock{}, from
			}
			itemInd = ind
		}
		if ind < itemInd || ind == itemInd && !isItem {
			break
		}
		if ind == itemInd {
			if n := len(b.items); n > 0 {
				b.items[n-1][1] = i
			}
			b.items = append(b.items, [2]int{i, i + 1})
		}
	}
	// The last item ends at its last non-blank line, so trailing comments and
	// blank lines stay in the skeleton.
	if n := len(b.items); n > 0 {
		end := i
		for end > b.items[n-1][0]+1 && len(lineContent(lines[end-1])) == 0 {
			end--
		}
		b.items[n-1][1] = end
	}
	return b, i
}

func indentOf(l []byte) int {
	n := 0
	for n < len(l) && l[n] == ' ' {
		n++
	}
	return n
}

// lineContent is a line without its indent, comment and line break.
func lineContent(l []byte) []byte {
	l = bytes.TrimRight(l, "\n")
	l = l[indentOf(l):]
	if len(l) > 0 && l[0] == '#' {
		return nil
	}
	if i := bytes.Index(l, []byte(" #")); i >= 0 {
		l = l[:i]
	}
	return bytes.TrimRight(l, " ")
}

// lineBreaks are the characters YAML also ends a line at (NEL, LS, PS) and
// the byte order mark, which it accepts only first: a line scan that
// splits at newlines alone would miscount around them.
var lineBreaks = [][]byte{[]byte("\u0085"), []byte("\u2028"), []byte("\u2029"), []byte("\ufeff")}

// plainLine reports whether a line is simple enough for the split: no
// anchors, aliases, tags, merge keys, directives or document markers, no
// tabs, carriage returns or other line breaks, quotes closed and flow
// brackets balanced on the line itself (outside a comment).
func plainLine(l []byte) bool {
	l = bytes.TrimRight(l, "\n")
	if bytes.HasPrefix(l, []byte("---")) || bytes.HasPrefix(l, []byte("...")) || bytes.HasPrefix(l, []byte("%")) {
		return false
	}
	if bytes.ContainsAny(l, "\t\r") {
		return false
	}
	for _, r := range lineBreaks {
		if bytes.Contains(l, r) {
			return false
		}
	}
	var quote byte
	depth := 0
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' {
				i++
			}
		case c == '#' && (i == 0 || l[i-1] == ' '):
			return depth == 0
		case c == '"' || c == '\'':
			quote = c
		case c == '&' || c == '*' || c == '!' || c == '<' && i+1 < len(l) && l[i+1] == '<':
			return false
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return quote == 0 && depth == 0
}
