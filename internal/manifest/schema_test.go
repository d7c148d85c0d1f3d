package manifest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/envop/envop/schema"
)

// schemaTables pairs each schema definition with the loader's field table.
var schemaTables = map[string][]string{
	"File": keys(fileFields), "Environment": keys(environmentFields), "Service": keys(serviceFields),
	"EnvVar": keys(envFields), "EnvFrom": keys(envFromFields), "Volume": keys(volumeFields),
	"KeyToPath": keys(keyToPathFields), "HPA": keys(hpaFields), "Metric": keys(metricFields),
	"TLS": keys(tlsFields), "Probe": keys(probeFields), "Handler": keys(handlerFields),
	"Exec": keys(execFields), "HTTPGet": keys(httpGetFields), "TCPSocket": keys(tcpSocketFields),
	"NameValue": keys(nameValueFields), "HealthCheck": keys(healthCheckFields),
	"Container": keys(containerFields), "Deployment": keys(deploymentFields), "Gist": keys(gistFields),
	"Preset": keys(presetFields), "Access": keys(accessFields), "Toleration": keys(tolerationFields),
	"DNS": keys(dnsFields),
}

func keys[T any](t fieldTable[T]) []string {
	out := make([]string, 0, len(t))
	for k := range t {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type jsonSchema map[string]any

func loadSchema(t *testing.T) jsonSchema {
	t.Helper()
	var s jsonSchema
	if err := json.Unmarshal(schema.Environments, &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	return s
}

// TestSchemaFields checks that the schema lists exactly the fields the
// loader accepts, object by object, and rejects any other.
func TestSchemaFields(t *testing.T) {
	defs := loadSchema(t)["$defs"].(map[string]any)
	for name, want := range schemaTables {
		def, ok := defs[name].(map[string]any)
		if !ok {
			t.Errorf("schema has no definition %s", name)
			continue
		}
		props, _ := def["properties"].(map[string]any)
		var got []string
		for k := range props {
			got = append(got, k)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: schema properties %v, loader fields %v", name, got, want)
		}
		if def["additionalProperties"] != false {
			t.Errorf("%s: schema must reject unknown fields", name)
		}
	}
}

// TestSchemaAcceptsValidFiles validates every valid testdata file, here and
// in the render testdata, against the schema.
func TestSchemaAcceptsValidFiles(t *testing.T) {
	root := loadSchema(t)
	files, _ := filepath.Glob("testdata/valid-*.bitesize")
	more, _ := filepath.Glob("../render/testdata/*.bitesize")
	for _, file := range append(files, more...) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if errs := (&schemaChecker{root: root}).check(root, doc, ""); len(errs) > 0 {
			t.Errorf("%s does not match the schema:\n%s", file, strings.Join(errs, "\n"))
		}
	}
}

func TestSchemaRejectsUnknownField(t *testing.T) {
	root := loadSchema(t)
	var doc any
	_ = yaml.Unmarshal([]byte("environments:\n  - name: dev\n    services:\n      - name: a\n        replcas: 2\n"), &doc)
	if errs := (&schemaChecker{root: root}).check(root, doc, ""); len(errs) == 0 {
		t.Error("schema accepted an unknown field")
	}
}

// schemaChecker is the small part of JSON Schema the file's schema uses:
// $ref, type, properties, additionalProperties, required, items, anyOf,
// enum, minimum, maximum and pattern.
type schemaChecker struct{ root jsonSchema }

func (c *schemaChecker) check(s map[string]any, v any, path string) []string {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/$defs/")
		return c.check(c.root["$defs"].(map[string]any)[name].(map[string]any), v, path)
	}
	if alts, ok := s["anyOf"].([]any); ok {
		for _, alt := range alts {
			if len(c.check(alt.(map[string]any), v, path)) == 0 {
				return nil
			}
		}
		return []string{fmt.Sprintf("%s: %v matches no alternative", path, v)}
	}
	if errs := checkType(s, v, path); len(errs) > 0 {
		return errs
	}
	return append(c.checkObject(s, v, path), c.checkValue(s, v, path)...)
}

func checkType(s map[string]any, v any, path string) []string {
	types := []string{}
	switch t := s["type"].(type) {
	case string:
		types = append(types, t)
	case []any:
		for _, x := range t {
			types = append(types, x.(string))
		}
	default:
		return nil
	}
	for _, want := range types {
		if typeOf(v) == want || (want == "number" && typeOf(v) == "integer") {
			return nil
		}
	}
	return []string{fmt.Sprintf("%s: %v is %s, want %v", path, v, typeOf(v), types)}
}

func typeOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case int, int64, uint64:
		return "integer"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func (c *schemaChecker) checkObject(s map[string]any, v any, path string) []string {
	var errs []string
	if items, ok := s["items"].(map[string]any); ok {
		for i, x := range v.([]any) {
			errs = append(errs, c.check(items, x, fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return errs
	}
	props, _ := s["properties"].(map[string]any)
	for k, x := range m {
		switch p, known := props[k].(map[string]any); {
		case known:
			errs = append(errs, c.check(p, x, joinPath(path, k))...)
		case s["additionalProperties"] == false:
			errs = append(errs, joinPath(path, k)+": unknown field")
		default:
			if ap, ok := s["additionalProperties"].(map[string]any); ok {
				errs = append(errs, c.check(ap, x, joinPath(path, k))...)
			}
		}
	}
	for _, r := range asList(s["required"]) {
		if _, ok := m[r.(string)]; !ok {
			errs = append(errs, joinPath(path, r.(string))+": required")
		}
	}
	return errs
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func (c *schemaChecker) checkValue(s map[string]any, v any, path string) []string {
	if enum := asList(s["enum"]); enum != nil {
		found := false
		for _, e := range enum {
			found = found || e == v
		}
		if !found {
			return []string{fmt.Sprintf("%s: %v not in %v", path, v, enum)}
		}
	}
	if pat, ok := s["pattern"].(string); ok {
		if str, isStr := v.(string); isStr && !regexp.MustCompile(pat).MatchString(str) {
			return []string{fmt.Sprintf("%s: %q does not match %s", path, str, pat)}
		}
	}
	n, isInt := v.(int)
	if min, ok := s["minimum"].(float64); ok && isInt && float64(n) < min {
		return []string{fmt.Sprintf("%s: %d below %v", path, n, min)}
	}
	if max, ok := s["maximum"].(float64); ok && isInt && float64(n) > max {
		return []string{fmt.Sprintf("%s: %d above %v", path, n, max)}
	}
	return nil
}
