package rest

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Fast paths for what dominates a query response: the JSON values of
// observations' input and output (structpb), timestamps, and the string-
// keyed maps of generated messages (metadata, model parameters, usage
// details). protoreflect hands out each map entry through reflection, at an
// allocation or two apiece; these read the Go values directly. They write
// exactly what the protoreflect path writes (TestFastPathsMatchReflection).

// fastMessage writes the generated well-known types it knows, and reports
// whether m was one of them.
func (e *encoder) fastMessage(m protoreflect.Message) (bool, error) {
	switch v := m.Interface().(type) {
	case *timestamppb.Timestamp:
		return true, e.timestampOf(v.GetSeconds(), int64(v.GetNanos()))
	case *structpb.Value:
		return true, e.structValue(v)
	case *structpb.Struct:
		return true, e.structFields(v.GetFields())
	case *structpb.ListValue:
		return true, e.structList(v.GetValues())
	}
	return false, nil
}

func (e *encoder) structValue(v *structpb.Value) error {
	if v == nil { // as a nil message in a map: an empty object
		e.buf = append(e.buf, "{}"...)
		return nil
	}
	switch k := v.GetKind().(type) {
	case *structpb.Value_NullValue:
		e.buf = append(e.buf, "null"...)
	case *structpb.Value_NumberValue:
		if math.IsNaN(k.NumberValue) || math.IsInf(k.NumberValue, 0) {
			return errors.New("google.protobuf.Value.number_value: invalid " + strconv.FormatFloat(k.NumberValue, 'g', -1, 64) + " value")
		}
		e.float(k.NumberValue, 64)
	case *structpb.Value_StringValue:
		return e.string(k.StringValue)
	case *structpb.Value_BoolValue:
		e.buf = strconv.AppendBool(e.buf, k.BoolValue)
	case *structpb.Value_StructValue:
		return e.structFields(k.StructValue.GetFields())
	case *structpb.Value_ListValue:
		return e.structList(k.ListValue.GetValues())
	default:
		return errors.New("google.protobuf.Value: none of the oneof fields is set")
	}
	return nil
}

func (e *encoder) structFields(fields map[string]*structpb.Value) error {
	return writeStringMap(e, fields, (*encoder).structValue)
}

func (e *encoder) structList(values []*structpb.Value) error {
	e.buf = append(e.buf, '[')
	for i, v := range values {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.structValue(v); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	return nil
}

// fastMap writes a map field of a generated message from its Go map when
// the map's type is one it knows, and reports whether it did.
func (e *encoder) fastMap(m protoreflect.Message, fd protoreflect.FieldDescriptor) (bool, error) {
	msg := m.Interface()
	idx := goFieldIndex(reflect.TypeOf(msg), fd)
	if idx < 0 {
		return false, nil
	}
	switch mp := reflect.ValueOf(msg).Elem().Field(idx).Interface().(type) {
	case map[string]string:
		return true, writeStringMap(e, mp, (*encoder).string)
	case map[string]int64:
		return true, writeStringMap(e, mp, func(e *encoder, n int64) error { e.int64(n); return nil })
	case map[string]float64:
		return true, writeStringMap(e, mp, func(e *encoder, f float64) error { e.float(f, 64); return nil })
	case map[string]*structpb.Value:
		return true, e.structFields(mp)
	}
	return false, nil
}

// writeStringMap writes a map as an object with its keys sorted bytewise.
func writeStringMap[V any](e *encoder, mp map[string]V, value func(*encoder, V) error) error {
	start := len(e.keys)
	for k := range mp {
		e.keys = append(e.keys, k)
	}
	end := len(e.keys)
	slices.Sort(e.keys[start:end])
	e.buf = append(e.buf, '{')
	for i := start; i < end; i++ {
		k := e.keys[i] // e.keys may move while a value is written
		if i > start {
			e.buf = append(e.buf, ',')
		}
		if err := e.string(k); err != nil {
			return err
		}
		e.buf = append(e.buf, ':')
		if err := value(e, mp[k]); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	clear(e.keys[start:end])
	e.keys = e.keys[:start]
	return nil
}

// goField is where a map field lives in a generated message's struct.
type goField struct {
	typ   reflect.Type // the message's pointer type
	index int          // -1: not a plain exported field
}

// goFields caches goField by field descriptor.
var goFields sync.Map

// goFieldIndex returns the index in *typ's struct of the exported field
// that holds fd, or -1 (a dynamic message, an opaque-API message, or a
// field it cannot find).
func goFieldIndex(typ reflect.Type, fd protoreflect.FieldDescriptor) int {
	if f, ok := goFields.Load(fd); ok && f.(goField).typ == typ {
		return f.(goField).index
	}
	// Not cached, or cached for another Go type with the same descriptor
	// (a dynamicpb message). The generated type's index is the one kept.
	idx := findGoField(typ, fd.Number())
	if _, ok := goFields.Load(fd); !ok || idx >= 0 {
		goFields.Store(fd, goField{typ: typ, index: idx})
	}
	return idx
}

func findGoField(typ reflect.Type, num protoreflect.FieldNumber) int {
	if typ.Kind() != reflect.Pointer || typ.Elem().Kind() != reflect.Struct {
		return -1
	}
	st := typ.Elem()
	want := strconv.Itoa(int(num))
	for i := range st.NumField() {
		f := st.Field(i)
		// The tag reads `protobuf:"bytes,8,rep,name=metadata,proto3"`.
		parts := strings.Split(f.Tag.Get("protobuf"), ",")
		if f.IsExported() && f.Type.Kind() == reflect.Map && len(parts) > 1 && parts[1] == want {
			return i
		}
	}
	return -1
}
