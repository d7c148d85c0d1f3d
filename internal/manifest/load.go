package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultFile is the manifest's name when none is given.
const DefaultFile = "environments.bitesize"

// MaxFileSize bounds the manifest; real files are a few kilobytes.
const MaxFileSize = 4 << 20

// Load decodes, validates and lints a manifest. The returned file is usable
// only when the diagnostics hold no errors; warnings never block.
func Load(filename string, data []byte) (*File, Diagnostics) {
	f, diags := Decode(filename, data)
	if f == nil {
		return nil, diags
	}
	diags = append(diags, gistVolumes(f)...)
	diags = append(diags, dropShadowed(diags, Validate(f))...)
	diags = append(diags, Lint(f)...)
	diags.Sort()
	return f, diags
}

// LoadFS reads the manifest at name in fsys, the repository, and loads it.
// Gist paths are looked up in the manifest's folder, then at the root of
// fsys. Read failures are returned as an error; problems in the file are
// diagnostics. The gists of an environment that names a gists repository
// are not checked (see LoadFSWithGists).
func LoadFS(fsys fs.FS, name string) (*File, Diagnostics, error) {
	return LoadFSWithGists(fsys, name, nil)
}

// LoadFSWithGists is LoadFS with the trees of the gists repositories the
// environments name, from gists (nil: none at hand), where their gists'
// files are checked.
func LoadFSWithGists(fsys fs.FS, name string, gists GistTree) (*File, Diagnostics, error) {
	data, err := readBounded(fsys, name, MaxFileSize)
	if err != nil {
		return nil, nil, err
	}
	f, diags := Load(name, data)
	if gists := checkGistFiles(fsys, name, f, gists); len(gists) > 0 {
		diags = append(diags, gists...)
		diags.Sort()
	}
	return f, diags, nil
}

func readBounded(fsys fs.FS, name string, limit int64) ([]byte, error) {
	fh, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read %s: %w (limit %d bytes)", name, ErrTooLarge, limit)
	}
	return data, nil
}

// ErrTooLarge is returned for inputs above their size limit.
var ErrTooLarge = errors.New("file too large")

// Decode parses the YAML and maps it onto the schema, reporting unknown
// fields and wrong types. It does not check values; Validate does.
func Decode(filename string, data []byte) (*File, Diagnostics) {
	if len(data) > MaxFileSize {
		return nil, Diagnostics{{File: filename, Line: 1, Col: 1, Severity: SeverityError,
			Message: fmt.Sprintf("file is %d bytes, larger than the %d byte limit", len(data), MaxFileSize)}}
	}
	root, split, err := parse(data)
	if err != nil {
		return nil, Diagnostics{syntaxDiagnostic(filename, data, err)}
	}
	d := &decoder{file: filename, pos: map[string]Pos{}, budget: 64 + 4*len(data),
		aliasFree: split || !bytes.Contains(data, []byte("*"))}
	if len(root.Content) == 0 {
		return nil, Diagnostics{{File: filename, Line: 1, Col: 1,
			Message: "file is empty", Severity: SeverityError}}
	}
	if line, col, ok := secondDocument(data); ok {
		return nil, Diagnostics{{File: filename, Line: line, Col: col, Severity: SeverityError,
			Message: "a second YAML document: the manifest is one document (remove the `---` line, or keep each environment in the one `environments` list)"}}
	}
	f := &File{Name: filename}
	doc := root.Content[0]
	d.record("", doc)
	decodeStruct(d, doc, "", f, fileFields)
	f.positions = append(positions{d.pos}, d.childPos...)
	d.diags.Sort()
	return f, d.diags
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// secondDocument reports where a second, non-empty YAML document starts.
// yaml.Unmarshal reads the first one only, so anything after it would be
// silently ignored.
// hasDocumentMarker reports whether a line after the first content starts
// with "---" or "...", which may start or end a YAML document; the usual
// "---" before the content does not count. A byte scan: the manifest is
// read on every sync, and a regular expression over it costs milliseconds.
func hasDocumentMarker(data []byte) bool {
	for _, marker := range [][]byte{[]byte("---"), []byte("...")} {
		for at := 0; ; {
			i := bytes.Index(data[at:], marker)
			if i < 0 {
				break
			}
			i += at
			if (i == 0 || data[i-1] == '\n') && hasContent(data[:i]) {
				return true
			}
			at = i + len(marker)
		}
	}
	return false
}

// hasContent reports whether text holds a line that is not blank or a
// comment.
func hasContent(text []byte) bool {
	for line := range bytes.Lines(text) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			return true
		}
	}
	return false
}

func secondDocument(data []byte) (line, col int, ok bool) {
	if !hasDocumentMarker(data) {
		return 0, 0, false
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var first yaml.Node
	if dec.Decode(&first) != nil {
		return 0, 0, false
	}
	for {
		var next yaml.Node
		switch err := dec.Decode(&next); {
		case err != nil: // io.EOF, or a fault the parse already reported
			return 0, 0, false
		case len(next.Content) > 0 && !isNull(next.Content[0]):
			return next.Content[0].Line, next.Content[0].Column, true
		}
	}
}

// syntaxDiagnostic turns a YAML parse error into a diagnostic at the line
// and column of the fault (see syntaxPosition).
func syntaxDiagnostic(filename string, data []byte, err error) Diagnostic {
	line := 1
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil {
			line = n
		}
	}
	msg := trimYAMLPrefix(yamlLine.ReplaceAllString(err.Error(), ""))
	line, col := syntaxPosition(data, msg, line)
	if strings.Contains(msg, "tab character") {
		msg += " (indent with spaces: YAML allows no tab in indentation)"
	}
	return Diagnostic{File: filename, Line: line, Col: col, Severity: SeverityError,
		Message: "invalid YAML: " + msg}
}

// maxLocateSize bounds the files syntaxPosition searches.
const maxLocateSize = 1 << 20

// syntaxPosition finds the line and column of a YAML syntax error. yaml.v3
// names the line where the enclosing block began, not the line at fault (a
// mis-indented key is reported at its parent's line), and no column. The
// shortest prefix of whole lines that fails with the same message ends on
// the faulty line, found by bisection from the reported line; the column is
// that line's first tab in its indentation for tab errors, else its first
// non-blank character. When nothing better is found, the reported line and
// column 1 stand.
func syntaxPosition(data []byte, msg string, reported int) (line, col int) {
	if len(data) > maxLocateSize || reported < 1 {
		return reported, 1
	}
	starts := lineStarts(data)
	fails := func(k int) bool { // the first k lines fail with msg
		end := len(data)
		if k < len(starts) {
			end = starts[k]
		}
		var n yaml.Node
		err := yaml.Unmarshal(data[:end], &n)
		return err != nil && trimYAMLPrefix(yamlLine.ReplaceAllString(err.Error(), "")) == msg
	}
	lo, hi := reported, len(starts) // fails(hi) is the error itself
	if lo > hi || !fails(hi) {
		return reported, 1
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	text := data[starts[lo-1]:]
	if i := bytes.IndexAny(text, "\r\n"); i >= 0 {
		text = text[:i]
	}
	blank := len(text) - len(bytes.TrimLeft(text, " \t"))
	if i := bytes.IndexByte(text[:blank], '\t'); i >= 0 && strings.Contains(msg, "tab") {
		return lo, i + 1
	}
	if blank == len(text) {
		return lo, 1
	}
	return lo, blank + 1
}

// lineStarts returns the offset of each line's first byte.
func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, b := range data {
		if b == '\n' && i+1 < len(data) {
			starts = append(starts, i+1)
		}
	}
	return starts
}

func trimYAMLPrefix(s string) string {
	for _, p := range []string{"yaml: : ", "yaml: ", ": "} {
		if len(s) >= len(p) && s[:len(p)] == p {
			s = s[len(p):]
		}
	}
	return s
}

// dropShadowed removes validation errors on paths that already have a decode
// error: a value that failed to decode would otherwise be reported twice
// (once as the wrong type, once as missing).
func dropShadowed(decoded, validated Diagnostics) Diagnostics {
	bad := map[string]bool{}
	for _, d := range decoded {
		if d.Severity == SeverityError {
			bad[d.Path] = true
		}
	}
	var out Diagnostics
	for _, v := range validated {
		if !underBad(bad, v.Path) {
			out = append(out, v)
		}
	}
	return out
}

func underBad(bad map[string]bool, path string) bool {
	for {
		if bad[path] {
			return true
		}
		if path == "" {
			return false
		}
		path = parentPath(path)
	}
}

// Position returns where the value at path starts, falling back to the
// nearest enclosing value that the file holds.
func (f *File) Position(path string) Pos {
	for {
		if p, ok := f.positions.get(path); ok {
			return p
		}
		if path == "" {
			return Pos{Line: 1, Col: 1}
		}
		path = parentPath(path)
	}
}

// parentPath strips the last segment: a.b[2].c → a.b[2] → a.b → a.
func parentPath(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		switch path[i] {
		case '.':
			return path[:i]
		case '[':
			if i == 0 {
				return ""
			}
			return path[:i]
		case '"':
			// Skip over a quoted key such as labels["example.com/x"].
			if j := lastQuoteStart(path[:i]); j >= 0 {
				i = j
			}
		}
	}
	return ""
}

func lastQuoteStart(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '"' && (i == 0 || s[i-1] != '\\') {
			return i
		}
	}
	return -1
}
