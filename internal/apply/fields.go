package apply

import (
	"bytes"
	"encoding/json"
	"strings"
)

// ownsAll says whether the FieldsV1 set fields (our manager's entry) still
// holds every field of obj. Only other managers can take fields out of our
// entry, so after a restart this detects drift without a write. Lists are
// matched by their element keys (k:), values (v:) or not at all (atomic
// lists own their whole value); anything it cannot match counts as not
// owned, which costs one apply, never a missed drift.
func ownsAll(fields string, obj map[string]any) bool {
	var set map[string]any
	if err := json.Unmarshal([]byte(fields), &set); err != nil {
		return false
	}
	for k, v := range obj {
		if k == "apiVersion" || k == "kind" || k == "status" {
			continue
		}
		if k == "metadata" {
			if !ownsMetadata(set, v) {
				return false
			}
			continue
		}
		if !ownsValue(set, k, v) {
			return false
		}
	}
	return true
}

// ownsMetadata checks labels and annotations: name and namespace are
// identity, not fields.
func ownsMetadata(set map[string]any, v any) bool {
	meta, _ := v.(map[string]any)
	sub, _ := set["f:metadata"].(map[string]any)
	for _, k := range []string{"labels", "annotations"} {
		if val, ok := meta[k]; ok && !ownsValue(sub, k, val) {
			return false
		}
	}
	return true
}

// ownsValue checks field key of a map whose set is set.
func ownsValue(set map[string]any, key string, v any) bool {
	if v == nil {
		return true // apply drops null fields: nothing to own
	}
	child, ok := set["f:"+key]
	if !ok {
		return false
	}
	sub, _ := child.(map[string]any)
	switch val := v.(type) {
	case map[string]any:
		for k, item := range val {
			if !ownsValue(sub, k, item) {
				return false
			}
		}
	case []any:
		return ownsList(sub, val)
	}
	return true
}

func ownsList(set map[string]any, items []any) bool {
	if len(set) == 0 || (len(set) == 1 && set["."] != nil) {
		return true // atomic: owned as a whole
	}
	for _, item := range items {
		if !ownsItem(set, item) {
			return false
		}
	}
	return true
}

func ownsItem(set map[string]any, item any) bool {
	obj, isMap := item.(map[string]any)
	if !isMap {
		raw, err := json.Marshal(item)
		_, ok := set["v:"+string(raw)]
		return err == nil && ok
	}
	for k, sub := range set {
		if strings.HasPrefix(k, "k:") && keyMatches(k[2:], obj) {
			elem, _ := sub.(map[string]any)
			for field, val := range obj {
				if !ownsValue(elem, field, val) {
					return false
				}
			}
			return true
		}
	}
	return false
}

// keyMatches says whether an element has the values of a k: key; a key
// field the element leaves out (defaulted by the server) matches any value.
func keyMatches(key string, obj map[string]any) bool {
	var want map[string]any
	if err := json.Unmarshal([]byte(key), &want); err != nil {
		return false
	}
	for k, w := range want {
		got, ok := obj[k]
		if !ok {
			continue
		}
		a, errA := json.Marshal(got)
		b, errB := json.Marshal(w)
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			return false
		}
	}
	return true
}
