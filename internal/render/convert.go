package render

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// This file turns typed API objects into the maps server-side apply sends,
// with the result runtime.DefaultUnstructuredConverter.ToUnstructured gives
// followed by pruneEmpty, in a fraction of the time (BenchmarkToMap): the
// converter re-inspects every value's type on every call, while here each Go
// type gets an encoder once, and empty values are dropped as they are met
// instead of built and pruned afterwards. convert_test.go checks the two
// agree on randomly filled objects of every kind the renderer makes.

// encoder converts one value. A nil result, an empty map or an empty list
// means "nothing to send": a struct field or map entry holding it is dropped.
type encoder func(v reflect.Value) (any, error)

var encoders sync.Map // reflect.Type → encoder

// toMap converts a typed object (a pointer to a struct) to its JSON map.
func toMap(obj any) (map[string]any, error) {
	if obj == nil {
		return nil, fmt.Errorf("no object to convert")
	}
	v := reflect.ValueOf(obj)
	out, err := encoderFor(v.Type())(v)
	if err != nil {
		return nil, err
	}
	m, ok := out.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%T does not encode to an object", obj)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// encoderFor returns t's encoder, building it on first use. A recursive type
// meets itself while being built and gets a stand-in that waits for the
// real encoder.
func encoderFor(t reflect.Type) encoder {
	if e, ok := encoders.Load(t); ok {
		return e.(encoder)
	}
	var (
		wg   sync.WaitGroup
		real encoder
	)
	wg.Add(1)
	standIn := encoder(func(v reflect.Value) (any, error) {
		wg.Wait()
		return real(v)
	})
	if e, loaded := encoders.LoadOrStore(t, standIn); loaded {
		return e.(encoder)
	}
	real = newEncoder(t)
	wg.Done()
	encoders.Store(t, real)
	return real
}

var (
	quantityType   = reflect.TypeFor[resource.Quantity]()
	intOrStrType   = reflect.TypeFor[intstr.IntOrString]()
	timeType       = reflect.TypeFor[metav1.Time]()
	converterType  = reflect.TypeFor[interface{ ToUnstructured() any }]()
	converterEType = reflect.TypeFor[interface{ ToUnstructuredWithError() (any, error) }]()
	marshalerType  = reflect.TypeFor[json.Marshaler]()
	isZeroerType   = reflect.TypeFor[interface{ IsZero() bool }]()
)

func newEncoder(t reflect.Type) encoder {
	switch t {
	case quantityType:
		return encodeQuantity
	case intOrStrType:
		return encodeIntOrString
	case timeType:
		custom := customEncoder(t)
		return func(v reflect.Value) (any, error) {
			if v.IsZero() {
				return nil, nil // every object's unset creationTimestamp
			}
			return custom(v)
		}
	}
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		if e := customEncoder(t); e != nil {
			return e
		}
	}
	switch t.Kind() {
	case reflect.String:
		return func(v reflect.Value) (any, error) { return v.String(), nil }
	case reflect.Bool:
		return func(v reflect.Value) (any, error) { return v.Bool(), nil }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(v reflect.Value) (any, error) { return v.Int(), nil }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return encodeUint
	case reflect.Float32, reflect.Float64:
		return func(v reflect.Value) (any, error) { return v.Float(), nil }
	case reflect.Pointer:
		return pointerEncoder(t)
	case reflect.Interface:
		return encodeInterface
	case reflect.Slice:
		return sliceEncoder(t)
	case reflect.Map:
		return mapEncoder(t)
	case reflect.Struct:
		return structEncoder(t)
	}
	return func(reflect.Value) (any, error) { return nil, fmt.Errorf("cannot encode a %s", t) }
}

func encodeQuantity(v reflect.Value) (any, error) {
	if v.CanAddr() {
		return v.Addr().Interface().(*resource.Quantity).String(), nil
	}
	q := v.Interface().(resource.Quantity)
	return q.String(), nil
}

func encodeIntOrString(v reflect.Value) (any, error) {
	if intstr.Type(v.Field(0).Int()) == intstr.Int {
		return v.Field(1).Int(), nil
	}
	return v.Field(2).String(), nil
}

func encodeUint(v reflect.Value) (any, error) {
	u := v.Uint()
	if u > math.MaxInt64 {
		return nil, fmt.Errorf("unsigned value %d does not fit into int64", u)
	}
	return int64(u), nil
}

func encodeInterface(v reflect.Value) (any, error) {
	if v.IsNil() {
		return nil, nil
	}
	e := v.Elem()
	return encoderFor(e.Type())(e)
}

func pointerEncoder(t reflect.Type) encoder {
	elem := encoderFor(t.Elem())
	return func(v reflect.Value) (any, error) {
		if v.IsNil() {
			return nil, nil
		}
		return elem(v.Elem())
	}
}

// customEncoder honours a type's own conversion, in the order the API
// machinery does: ToUnstructured, then MarshalJSON. Methods on the pointer
// are reached through an addressable copy.
func customEncoder(t reflect.Type) encoder {
	iface := func(v reflect.Value, it reflect.Type) (any, bool) {
		if t.Implements(it) {
			return v.Interface(), true
		}
		if reflect.PointerTo(t).Implements(it) {
			if !v.CanAddr() {
				c := reflect.New(t)
				c.Elem().Set(v)
				return c.Interface(), true
			}
			return v.Addr().Interface(), true
		}
		return nil, false
	}
	has := func(it reflect.Type) bool { return t.Implements(it) || reflect.PointerTo(t).Implements(it) }
	switch {
	case has(converterEType):
		return func(v reflect.Value) (any, error) {
			c, _ := iface(v, converterEType)
			return c.(interface{ ToUnstructuredWithError() (any, error) }).ToUnstructuredWithError()
		}
	case has(converterType):
		return func(v reflect.Value) (any, error) {
			c, _ := iface(v, converterType)
			return c.(interface{ ToUnstructured() any }).ToUnstructured(), nil
		}
	case has(marshalerType):
		return func(v reflect.Value) (any, error) {
			c, _ := iface(v, marshalerType)
			data, err := c.(json.Marshaler).MarshalJSON()
			if err != nil {
				return nil, err
			}
			x, err := decodeJSONValue(data)
			if m, ok := x.(map[string]any); ok {
				pruneEmpty(m)
			}
			return x, err
		}
	}
	return nil
}

// decodeJSONValue reads what a MarshalJSON gave: numbers become int64 when
// they are whole, as the API machinery reads them.
func decodeJSONValue(data []byte) (any, error) {
	s := strings.TrimSpace(string(data))
	switch {
	case s == "":
		return nil, fmt.Errorf("empty JSON value")
	case s == "null":
		return nil, nil
	case s == "true":
		return true, nil
	case s == "false":
		return false, nil
	case s[0] == '"':
		var str string
		err := json.Unmarshal(data, &str)
		return str, err
	case s[0] == '{' || s[0] == '[':
		var out any
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		if err := d.Decode(&out); err != nil {
			return nil, err
		}
		return wholeNumbers(out), nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	return strconv.ParseFloat(s, 64)
}

func wholeNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, x := range t {
			t[k] = wholeNumbers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = wholeNumbers(x)
		}
	}
	return v
}

func sliceEncoder(t reflect.Type) encoder {
	if t.Elem().Kind() == reflect.Uint8 {
		return func(v reflect.Value) (any, error) {
			if v.IsNil() {
				return nil, nil
			}
			return base64.StdEncoding.EncodeToString(v.Bytes()), nil
		}
	}
	if t == reflect.TypeFor[[]string]() {
		return func(v reflect.Value) (any, error) {
			if v.IsNil() {
				return nil, nil
			}
			in := v.Interface().([]string)
			out := make([]any, len(in))
			for i, s := range in {
				out[i] = s
			}
			return out, nil
		}
	}
	elem := encoderFor(t.Elem())
	return func(v reflect.Value) (any, error) {
		if v.IsNil() {
			return nil, nil
		}
		out := make([]any, v.Len())
		for i := range out {
			x, err := elem(v.Index(i))
			if err != nil {
				return nil, err
			}
			// An empty object stays in a list: its place is meaningful.
			if m, ok := x.(map[string]any); ok && m == nil {
				x = map[string]any{}
			}
			out[i] = x
		}
		return out, nil
	}
}

func mapEncoder(t reflect.Type) encoder {
	if t.Key().Kind() != reflect.String {
		return func(reflect.Value) (any, error) {
			return nil, fmt.Errorf("cannot encode %s: keys are not strings", t)
		}
	}
	if t == reflect.TypeFor[map[string]string]() {
		return func(v reflect.Value) (any, error) {
			if v.IsNil() {
				return nil, nil
			}
			in := v.Interface().(map[string]string)
			out := make(map[string]any, len(in))
			for k, s := range in {
				out[k] = s
			}
			return out, nil
		}
	}
	elem := encoderFor(t.Elem())
	return func(v reflect.Value) (any, error) {
		if v.IsNil() {
			return nil, nil
		}
		out := make(map[string]any, v.Len())
		it := v.MapRange()
		for it.Next() {
			x, err := elem(it.Value())
			if err != nil {
				return nil, err
			}
			if !dropped(x) {
				out[it.Key().String()] = x
			}
		}
		return out, nil
	}
}

// field is how one struct field is encoded.
type field struct {
	index     int
	name      string
	inline    bool
	omitEmpty bool
	omitZero  func(reflect.Value) bool
	enc       encoder
}

func structEncoder(t reflect.Type) encoder {
	fields := structFields(t)
	return func(v reflect.Value) (any, error) {
		// Collect first, then size the map exactly: most API structs have
		// dozens of fields and only a few set.
		var buf [16]entry
		kv := buf[:0]
		for i := range fields {
			f := &fields[i]
			fv := v.Field(f.index)
			if f.omitEmpty && emptyValue(fv) || f.omitZero != nil && f.omitZero(fv) {
				continue
			}
			x, err := f.enc(fv)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.name, err)
			}
			if f.inline {
				inner, _ := x.(map[string]any)
				for k, y := range inner {
					kv = append(kv, entry{k, y})
				}
				continue
			}
			if !dropped(x) {
				kv = append(kv, entry{f.name, x})
			}
		}
		if len(kv) == 0 {
			return map[string]any(nil), nil
		}
		m := make(map[string]any, len(kv))
		for _, e := range kv {
			m[e.key] = e.value
		}
		return m, nil
	}
}

type entry struct {
	key   string
	value any
}

// structFields reads the json tags the way encoding/json does: "-" skips,
// an embedded struct without a name (or marked inline) is merged into its
// parent, omitempty and omitzero leave out empty or zero values.
func structFields(t reflect.Type) []field {
	var fields []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, hasTag := sf.Tag.Lookup("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" && opts == "" {
			continue
		}
		if !sf.IsExported() && !sf.Anonymous {
			continue
		}
		f := field{index: i, name: name}
		if !hasTag || name == "" {
			if sf.Anonymous {
				f.inline = true
			} else {
				f.name = sf.Name
			}
		}
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "inline":
				f.inline = true
			case "omitempty":
				f.omitEmpty = true
			case "omitzero":
				f.omitZero = zeroFunc(sf.Type)
			}
		}
		f.enc = encoderFor(sf.Type)
		fields = append(fields, f)
	}
	return fields
}

// emptyValue is encoding/json's omitempty test.
func emptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.String, reflect.Map, reflect.Slice:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// zeroFunc is encoding/json's omitzero test: the type's IsZero method when
// it has one, else the zero value.
func zeroFunc(t reflect.Type) func(reflect.Value) bool {
	switch {
	case t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface:
		if t.Implements(isZeroerType) {
			return func(v reflect.Value) bool {
				return v.IsNil() || v.Interface().(interface{ IsZero() bool }).IsZero()
			}
		}
	case t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.Interface().(interface{ IsZero() bool }).IsZero() }
	case reflect.PointerTo(t).Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if !v.CanAddr() {
				c := reflect.New(t)
				c.Elem().Set(v)
				v = c.Elem()
			}
			return v.Addr().Interface().(interface{ IsZero() bool }).IsZero()
		}
	}
	return reflect.Value.IsZero
}

// dropped reports whether an encoded value is left out of its parent.
func dropped(x any) bool {
	switch t := x.(type) {
	case nil:
		return true
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}

// pruneEmpty removes nil values, empty maps and empty lists, recursively,
// from what a type's own MarshalJSON gave.
func pruneEmpty(m map[string]any) {
	for k, v := range m {
		if isEmpty(v) {
			delete(m, k)
		}
	}
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		pruneEmpty(t)
		return len(t) == 0
	case []any:
		for _, item := range t {
			if mm, ok := item.(map[string]any); ok {
				pruneEmpty(mm)
			}
		}
		return len(t) == 0
	}
	return false
}
