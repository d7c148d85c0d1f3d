package render

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envop/envop/internal/manifest"
)

// gists renders a ConfigMap per gist from the file contents in Options and
// remembers their hashes for the pods that mount them.
func (r *renderer) gists() error {
	r.gistHash = map[string]string{}
	for _, g := range r.env.Gists {
		cm, err := r.gistConfigMap(g)
		if err != nil {
			return fmt.Errorf("render gist %q: %w", g.Name, err)
		}
		r.gistHash[g.Name] = cm.Annotations[AnnotationContentHash]
		if err := r.add(cm); err != nil {
			return err
		}
	}
	return nil
}

func (r *renderer) gistConfigMap(g manifest.Gist) (*corev1.ConfigMap, error) {
	data, binary := map[string]string{}, map[string][]byte{}
	if g.Source != "" {
		if err := r.configMapFile(g.Source, data, binary); err != nil {
			return nil, err
		}
	}
	for _, f := range g.Files {
		if err := r.gistFiles(f, data, binary); err != nil {
			return nil, err
		}
	}
	return &corev1.ConfigMap{
		TypeMeta: typeMeta("v1", "ConfigMap"),
		ObjectMeta: metav1.ObjectMeta{Name: g.Name, Namespace: r.namespace, Labels: r.labels(g.Name, g.Name, ""),
			Annotations: map[string]string{AnnotationContentHash: contentHash(data, binary)}},
		Data: data, BinaryData: binary,
	}, nil
}

// configMapFile reads a ConfigMap manifest kept in the repository and takes
// its data; its name and namespace come from the gist.
func (r *renderer) configMapFile(p string, data map[string]string, binary map[string][]byte) error {
	raw, ok := r.opts.Files[path.Clean(p)]
	if !ok {
		return fmt.Errorf("file %q not supplied", p)
	}
	cmData, cmBinary, err := manifest.ConfigMapData(raw)
	if err != nil {
		return fmt.Errorf("%q is not a ConfigMap manifest: %w", p, err)
	}
	for k, v := range cmData {
		data[k] = v
	}
	for k, v := range cmBinary {
		binary[k] = v
	}
	return nil
}

// gistFiles adds a file, or every file under a folder, keyed by base name.
func (r *renderer) gistFiles(p string, data map[string]string, binary map[string][]byte) error {
	p = path.Clean(p)
	var found []string
	if _, ok := r.opts.Files[p]; ok {
		found = append(found, p)
	} else {
		for name := range r.opts.Files {
			if strings.HasPrefix(name, p+"/") || p == "." {
				found = append(found, name)
			}
		}
	}
	if len(found) == 0 {
		return fmt.Errorf("file %q not supplied", p)
	}
	sort.Strings(found)
	for _, name := range found {
		key, content := path.Base(name), r.opts.Files[name]
		if utf8.Valid(content) {
			data[key] = string(content)
		} else {
			binary[key] = content
		}
	}
	return nil
}

func contentHash(data map[string]string, binary map[string][]byte) string {
	h := sha256.New()
	for _, k := range sortedKeys(data) {
		fmt.Fprintf(h, "%q=%q\n", k, data[k])
	}
	for _, k := range sortedKeys(binary) {
		fmt.Fprintf(h, "%q=%x\n", k, binary[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
