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

// ownsValue checks field key of a map whose set is set. A field without
// children in the set is a leaf: a scalar, or an atomic map or list, owned
// as a whole.
func ownsValue(set map[string]any, key string, v any) bool {
	if v == nil {
		return true // apply drops null fields: nothing to own
	}
	child, ok := set["f:"+key]
	if !ok {
		return false
	}
	sub, _ := child.(map[string]any)
	if len(sub) == 0 {
		return true
	}
	switch val := v.(type) {
	case map[string]any:
		return ownsFields(sub, val)
	case []any:
		for _, item := range val {
			if !ownsItem(sub, item) {
				return false
			}
		}
	}
	return true
}

func ownsFields(set map[string]any, obj map[string]any) bool {
	for k, v := range obj {
		if !ownsValue(set, k, v) {
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
			return len(elem) == 0 || ownsFields(elem, obj)
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
