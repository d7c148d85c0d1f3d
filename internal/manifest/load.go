package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strconv"
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
	diags = append(diags, dropShadowed(diags, Validate(f))...)
	diags = append(diags, Lint(f)...)
	diags.Sort()
	return f, diags
}

// LoadFS reads a manifest from fsys and loads it. Read failures are returned
// as an error; problems in the file are diagnostics.
func LoadFS(fsys fs.FS, name string) (*File, Diagnostics, error) {
	data, err := readBounded(fsys, name, MaxFileSize)
	if err != nil {
		return nil, nil, err
	}
	f, diags := Load(name, data)
	if gists := checkGistFiles(fsys, f); len(gists) > 0 {
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
		return nil, Diagnostics{syntaxDiagnostic(filename, err)}
	}
	d := &decoder{file: filename, pos: map[string]Pos{}, budget: 64 + 4*len(data),
		aliasFree: split || !bytes.Contains(data, []byte("*"))}
	if len(root.Content) == 0 {
		return nil, Diagnostics{{File: filename, Line: 1, Col: 1,
			Message: "file is empty", Severity: SeverityError}}
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

// syntaxDiagnostic turns a YAML parse error into a diagnostic; the parser
// only says which line, so the column is 1.
func syntaxDiagnostic(filename string, err error) Diagnostic {
	line := 1
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil {
			line = n
		}
	}
	msg := yamlLine.ReplaceAllString(err.Error(), "")
	return Diagnostic{File: filename, Line: line, Col: 1, Severity: SeverityError,
		Message: "invalid YAML: " + trimYAMLPrefix(msg)}
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
		bad[d.Path] = true
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
