package rest

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// kitchenSink builds (as a dynamic message) a proto3 message with a field
// of every kind the encoder distinguishes, so the tests do not depend on
// which kinds the API's own protos happen to use.
func kitchenSink(t testing.TB) protoreflect.MessageType {
	t.Helper()
	type T = descriptorpb.FieldDescriptorProto_Type
	opt, rep := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	field := func(name string, n int32, typ T, label *descriptorpb.FieldDescriptorProto_Label, typeName string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(n), Type: typ.Enum(), Label: label}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		return f
	}
	entry := func(name string, key, val T, valType string) *descriptorpb.DescriptorProto {
		return &descriptorpb.DescriptorProto{
			Name:    proto.String(name),
			Field:   []*descriptorpb.FieldDescriptorProto{field("key", 1, key, opt, ""), field("value", 2, val, opt, valType)},
			Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
		}
	}
	const (
		i32, i64, u32, u64   = descriptorpb.FieldDescriptorProto_TYPE_INT32, descriptorpb.FieldDescriptorProto_TYPE_INT64, descriptorpb.FieldDescriptorProto_TYPE_UINT32, descriptorpb.FieldDescriptorProto_TYPE_UINT64
		s32, s64, fx32, fx64 = descriptorpb.FieldDescriptorProto_TYPE_SINT32, descriptorpb.FieldDescriptorProto_TYPE_SINT64, descriptorpb.FieldDescriptorProto_TYPE_FIXED32, descriptorpb.FieldDescriptorProto_TYPE_FIXED64
		sf32, sf64           = descriptorpb.FieldDescriptorProto_TYPE_SFIXED32, descriptorpb.FieldDescriptorProto_TYPE_SFIXED64
		flt, dbl, boo, str   = descriptorpb.FieldDescriptorProto_TYPE_FLOAT, descriptorpb.FieldDescriptorProto_TYPE_DOUBLE, descriptorpb.FieldDescriptorProto_TYPE_BOOL, descriptorpb.FieldDescriptorProto_TYPE_STRING
		byt, enm, msg        = descriptorpb.FieldDescriptorProto_TYPE_BYTES, descriptorpb.FieldDescriptorProto_TYPE_ENUM, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	)
	oneof := func(f *descriptorpb.FieldDescriptorProto, i int32) *descriptorpb.FieldDescriptorProto {
		f.OneofIndex = proto.Int32(i)
		return f
	}
	optional := oneof(field("opt_i64", 24, i64, opt, ""), 1)
	optional.Proto3Optional = proto.Bool(true)
	file := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("kitchen/sink.proto"),
		Package: proto.String("kitchen"),
		Syntax:  proto.String("proto3"),
		Dependency: []string{
			"google/protobuf/timestamp.proto", "google/protobuf/duration.proto", "google/protobuf/struct.proto",
			"google/protobuf/wrappers.proto", "google/protobuf/any.proto", "google/protobuf/field_mask.proto", "google/protobuf/empty.proto",
		},
		EnumType: []*descriptorpb.EnumDescriptorProto{{
			Name: proto.String("Color"),
			Value: []*descriptorpb.EnumValueDescriptorProto{
				{Name: proto.String("COLOR_UNSPECIFIED"), Number: proto.Int32(0)},
				{Name: proto.String("COLOR_RED"), Number: proto.Int32(1)},
			},
		}},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("Inner"), Field: []*descriptorpb.FieldDescriptorProto{
				field("n", 1, i64, opt, ""), field("ns", 2, i64, rep, ""),
			}},
			{
				Name: proto.String("Sink"),
				Field: []*descriptorpb.FieldDescriptorProto{
					field("i32", 1, i32, opt, ""), field("i64", 2, i64, opt, ""), field("u32", 3, u32, opt, ""), field("u64", 4, u64, opt, ""),
					field("s32", 5, s32, opt, ""), field("s64", 6, s64, opt, ""), field("fx32", 7, fx32, opt, ""), field("fx64", 8, fx64, opt, ""),
					field("sf32", 9, sf32, opt, ""), field("sf64", 10, sf64, opt, ""), field("flt", 11, flt, opt, ""), field("dbl", 12, dbl, opt, ""),
					field("boo", 13, boo, opt, ""), field("str", 14, str, opt, ""), field("byt", 15, byt, opt, ""),
					field("enm", 16, enm, opt, ".kitchen.Color"), field("inner", 17, msg, opt, ".kitchen.Inner"),
					field("r_i64", 18, i64, rep, ""), field("r_u64", 19, u64, rep, ""), field("r_inner", 20, msg, rep, ".kitchen.Inner"),
					field("m_i64", 21, msg, rep, ".kitchen.Sink.MI64Entry"), field("m_bool", 22, msg, rep, ".kitchen.Sink.MBoolEntry"),
					field("m_i32", 23, msg, rep, ".kitchen.Sink.MI32Entry"), optional,
					field("ts", 25, msg, opt, ".google.protobuf.Timestamp"), field("dur", 26, msg, opt, ".google.protobuf.Duration"),
					field("st", 27, msg, opt, ".google.protobuf.Struct"), field("val", 28, msg, opt, ".google.protobuf.Value"),
					field("w_i64", 29, msg, opt, ".google.protobuf.Int64Value"), field("w_u64", 30, msg, opt, ".google.protobuf.UInt64Value"),
					field("any", 31, msg, opt, ".google.protobuf.Any"), field("fm", 32, msg, opt, ".google.protobuf.FieldMask"),
					field("empty", 33, msg, opt, ".google.protobuf.Empty"), field("r_str", 34, str, rep, ""),
					oneof(field("c_i64", 35, i64, opt, ""), 0), oneof(field("c_str", 36, str, opt, ""), 0),
					field("r_enm", 37, enm, rep, ".kitchen.Color"), field("r_dbl", 38, dbl, rep, ""),
				},
				NestedType: []*descriptorpb.DescriptorProto{
					entry("MI64Entry", str, i64, ""),
					entry("MBoolEntry", boo, str, ""),
					entry("MI32Entry", i32, msg, ".kitchen.Inner"),
				},
				OneofDecl: []*descriptorpb.OneofDescriptorProto{{Name: proto.String("choice")}, {Name: proto.String("_opt_i64")}},
			},
		},
	}
	fd, err := protodesc.NewFile(file, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return dynamicpb.NewMessageType(fd.Messages().ByName("Sink"))
}

// sink reads a Sink from proto3 JSON, which accepts 64-bit integers as
// numbers or strings.
func sink(t *testing.T, mt protoreflect.MessageType, in string) proto.Message {
	t.Helper()
	m := mt.New().Interface()
	if err := (protojson.UnmarshalOptions{}).Unmarshal([]byte(in), m); err != nil {
		t.Fatalf("bad test input %s: %v", in, err)
	}
	return m
}

func TestMarshalResponse(t *testing.T) {
	mt := kitchenSink(t)
	tests := []struct {
		name, in, want string
	}{
		{
			name: "empty: lists are [], the rest left out",
			in:   `{}`,
			want: `{"r_i64":[],"r_u64":[],"r_inner":[],"r_str":[],"r_enm":[],"r_dbl":[]}`,
		},
		{
			name: "every kind",
			in: `{"i32":-5,"i64":"-9007199254740991","u32":7,"u64":"9007199254740991","s32":-1,"s64":"-9007199254740992",
				"fx32":3,"fx64":"18446744073709551615","sf32":-3,"sf64":"9007199254740992","flt":1.5,"dbl":1e-7,
				"boo":true,"str":"a\"b\\c\n\u0001é<>&\u2028","byt":"AAEC/w==","enm":"COLOR_RED","inner":{"n":42,"ns":[1,"2"]},
				"r_i64":[1,"-9223372036854775808",9007199254740991],"r_u64":["18446744073709551615",0],
				"r_inner":[{},{"n":"9007199254740993"}],
				"m_i64":{"z":1,"a":"9223372036854775807","m":-2},"m_bool":{"true":"t","false":"f"},"m_i32":{"10":{"n":1},"-1":{},"2":{"ns":[]}},
				"opt_i64":0,"ts":"2026-12-01T10:00:00.120Z","dur":"-1.000000500s",
				"st":{"b":{"x":[1,"s",null,true]},"a":12345678901234567890},"val":null,
				"w_i64":"123","w_u64":"18446744073709551615","fm":"fooBar,baz","empty":{},"c_i64":"5",
				"r_enm":["COLOR_RED",7],"r_dbl":["NaN","Infinity","-Infinity",0,1e21]}`,
			want: `{"i32":-5,"i64":-9007199254740991,"u32":7,"u64":9007199254740991,"s32":-1,"s64":"-9007199254740992",` +
				`"fx32":3,"fx64":"18446744073709551615","sf32":-3,"sf64":"9007199254740992","flt":1.5,"dbl":1e-7,` +
				`"boo":true,"str":"a\"b\\c\n\u0001é<>&` + "\u2028" + `","byt":"AAEC/w==","enm":"COLOR_RED","inner":{"n":42,"ns":[1,2]},` +
				`"r_i64":[1,"-9223372036854775808",9007199254740991],"r_u64":["18446744073709551615",0],` +
				`"r_inner":[{"ns":[]},{"n":"9007199254740993","ns":[]}],` +
				`"m_i64":{"a":"9223372036854775807","m":-2,"z":1},"m_bool":{"false":"f","true":"t"},` +
				`"m_i32":{"-1":{"ns":[]},"2":{"ns":[]},"10":{"n":1,"ns":[]}},` +
				`"opt_i64":0,"ts":"2026-12-01T10:00:00.120Z","dur":"-1.000000500s",` +
				`"st":{"a":12345678901234567000,"b":{"x":[1,"s",null,true]}},"val":null,` +
				`"w_i64":123,"w_u64":"18446744073709551615","fm":"fooBar,baz","empty":{},"r_str":[],"c_i64":5,` +
				`"r_enm":["COLOR_RED",7],"r_dbl":["NaN","Infinity","-Infinity",0,1e+21]}`,
		},
		{
			name: "timestamps and durations keep 0, 3, 6 or 9 digits",
			in:   `{"ts":"1970-01-01T00:00:00.000001Z","dur":"3s","r_str":["x"]}`,
			want: `{"r_i64":[],"r_u64":[],"r_inner":[],"ts":"1970-01-01T00:00:00.000001Z","dur":"3s","r_str":["x"],"r_enm":[],"r_dbl":[]}`,
		},
		{
			name: "a oneof's string, an Any with int64 inside",
			in:   `{"c_str":"s","any":{"@type":"type.googleapis.com/agenttrace.common.v1.Usage","input":"2000","details":{"big":"9223372036854775807"}}}`,
			want: `{"r_i64":[],"r_u64":[],"r_inner":[],` +
				`"any":{"@type":"type.googleapis.com/agenttrace.common.v1.Usage","input":2000,"details":{"big":"9223372036854775807"}},` +
				`"r_str":[],"c_str":"s","r_enm":[],"r_dbl":[]}`,
		},
		{
			name: "an Any holding a well-known type",
			in:   `{"any":{"@type":"type.googleapis.com/google.protobuf.Int64Value","value":"77"}}`,
			want: `{"r_i64":[],"r_u64":[],"r_inner":[],"any":{"@type":"type.googleapis.com/google.protobuf.Int64Value","value":77},"r_str":[],"r_enm":[],"r_dbl":[]}`,
		},
	}
	m := newJSONMarshaler()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := sink(t, mt, tt.in)
			got, err := m.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			// The output reads back (as a request would) to the same message.
			back := mt.New().Interface()
			if err := m.Unmarshal(got, back); err != nil {
				t.Fatalf("output does not read back: %v", err)
			}
			if !proto.Equal(back, msg) {
				t.Errorf("read back %v\nwant %v", back, msg)
			}
		})
	}
}

// TestMarshalResponseAgreesWithProtojson checks a large real response: the
// same JSON as protojson's apart from the 64-bit integers and empty lists.
func TestMarshalResponseAgreesWithProtojson(t *testing.T) {
	resp := benchGetTrace(50)
	got, err := newJSONMarshaler().Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	back := &queryv1.GetTraceResponse{}
	if err := protojson.Unmarshal(got, back); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(back, resp) {
		t.Error("output does not read back to the response")
	}
	if !json.Valid(got) {
		t.Fatalf("invalid JSON %s", got)
	}
	for _, want := range []string{
		`"usage":{"input":1200,"output":340,"total":1540,"details":{"cached_input":300,"reasoning_output":12}}`,
		`"observation_count":50`,
		`"children":[]`,
	} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("output lacks %s", want)
		}
	}
}

func TestMarshalResponseErrors(t *testing.T) {
	m := newJSONMarshaler()
	for name, msg := range map[string]proto.Message{
		"invalid UTF-8":         &commonv1.Trace{Name: "a\xffb"},
		"timestamp beyond 9999": &commonv1.Trace{Timestamp: &timestamppb.Timestamp{Seconds: 253402300800}},
		"NaN in a Value":        &commonv1.Trace{Input: structpb.NewNumberValue(math.NaN())},
		"empty Value":           &commonv1.Trace{Input: &structpb.Value{}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := m.Marshal(msg); err == nil {
				t.Error("no error")
			}
			if _, err := protojson.Marshal(msg); err == nil {
				t.Error("protojson has no error either: the encoder should not be stricter")
			}
		})
	}
}

// TestMarshalNonMessages covers the values grpc-gateway marshals besides
// a response message: a stream's chunks and errors.
func TestMarshalNonMessages(t *testing.T) {
	m := newJSONMarshaler()
	usage := &commonv1.Usage{Input: proto.Int64(3)}
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"stream chunk", map[string]any{"result": usage}, `{"result":{"input":3}}`},
		{"stream error", map[string]proto.Message{"error": status.New(codes.Internal, "boom").Proto()},
			`{"error":{"code":13,"message":"boom","details":[]}}`},
		{"plain value", []string{"a"}, `["a"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	var buf bytes.Buffer
	if err := m.NewEncoder(&buf).Encode(usage); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "{\"input\":3}\n" {
		t.Errorf("encoder wrote %q", buf.String())
	}
}

func TestTraceTokenCountsAreNumbers(t *testing.T) {
	h := newHarness(t)
	h.backend.mu.Lock()
	h.backend.traceResp = &queryv1.GetTraceResponse{
		Trace: &commonv1.Trace{Id: "t1", Usage: &commonv1.Usage{Input: proto.Int64(2000), Output: proto.Int64(1 << 60)}, ObservationCount: 1},
		Observations: []*queryv1.ObservationNode{{
			Observation: &commonv1.Observation{Id: "o1", Usage: &commonv1.Usage{Total: proto.Int64(0), Details: map[string]int64{"cached_input": 500}}},
		}},
	}
	h.backend.mu.Unlock()
	r := h.do(t, "GET", "/api/v1/traces/t1", nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	assertJSON(t, r.body, `{
		"trace":{"id":"t1","tags":[],"usage":{"input":2000,"output":"1152921504606846976"},"observation_count":1,"models":[],"score_summaries":[]},
		"observations":[{"observation":{"id":"o1","usage":{"total":0,"details":{"cached_input":500}}},"children":[]}],
		"scores":[]}`)
	if strings.Contains(string(r.body), `"input":"`) {
		t.Errorf("a safe integer is a string: %s", r.body)
	}
}

// TestFastPathsMatchReflection encodes real responses twice: as generated
// messages (the fast paths for structpb, timestamps and Go maps) and as
// dynamic messages of the same descriptors (protoreflect throughout).
func TestFastPathsMatchReflection(t *testing.T) {
	trace := benchGetTrace(20)
	trace.Trace.Metadata = map[string]string{"z": "last", "": "empty key", "é\n": "\"quoted\"", "a": ""}
	trace.Trace.Input = structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
		"nested": structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{
			structpb.NewNullValue(), structpb.NewBoolValue(false), structpb.NewNumberValue(1e21), structpb.NewNumberValue(-0.000001),
			structpb.NewStructValue(&structpb.Struct{}), structpb.NewListValue(&structpb.ListValue{}),
		}}),
		"b": structpb.NewStringValue("x\ty"),
	}})
	trace.Trace.Usage.Details = map[string]int64{"huge": math.MinInt64, "small": -3}
	for _, msg := range []proto.Message{trace, benchListObservations(10)} {
		wire, err := proto.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		dyn := dynamicpb.NewMessage(msg.ProtoReflect().Descriptor())
		if err := proto.Unmarshal(wire, dyn); err != nil {
			t.Fatal(err)
		}
		// The dynamic message first: it must not keep the generated one
		// off its fast path.
		slow, err := marshalResponse(dyn)
		if err != nil {
			t.Fatal(err)
		}
		fast, err := marshalResponse(msg)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fast, slow) {
			t.Errorf("generated and dynamic messages encode differently:\n%s\n%s", fast, slow)
		}
	}
}

// FuzzMarshalResponseRoundTrip: every message proto3 JSON can express (the
// kitchen sink: every scalar kind, wrappers, well-known types, maps, lists,
// oneofs) encodes to valid JSON that reads back to an equal message.
func FuzzMarshalResponseRoundTrip(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"i64":"9007199254740993","u64":"18446744073709551615","s64":-5,"fx64":"1","sf64":"-9007199254740992"}`,
		`{"r_i64":[1,"-9007199254740993"],"m_i64":{"a":"1","b":"9223372036854775807"},"r_inner":[{"n":"7","ns":[]}]}`,
		`{"dbl":"NaN","flt":"-Infinity","str":"\u0000<>&\u2028\ud83d\ude00","byt":"AAEC/w==","enm":"COLOR_RED"}`,
		`{"ts":"1970-01-01T00:00:00.000000001Z","dur":"-1.5s","w_i64":"12","w_u64":9,"st":{"a":[1,null,{"b":true}]},"val":null}`,
		`{"m_bool":{"true":"x"},"m_i32":{"-1":{"n":1}},"opt_i64":0,"any":{"@type":"type.googleapis.com/google.protobuf.Int64Value","value":"5"}}`,
	} {
		f.Add(seed)
	}
	mt := kitchenSink(f)
	f.Fuzz(func(t *testing.T, in string) {
		m := mt.New().Interface()
		if err := (protojson.UnmarshalOptions{}).Unmarshal([]byte(in), m); err != nil {
			return // not a message: nothing to encode
		}
		out, err := marshalResponse(m)
		if err != nil {
			// protojson refuses the same values (e.g. a Timestamp out of range).
			if _, perr := protojson.Marshal(m); perr == nil {
				t.Fatalf("encoder refused %s (%v), protojson did not", in, err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON %s from %s", out, in)
		}
		back := mt.New().Interface()
		if err := protojson.Unmarshal(out, back); err != nil {
			t.Fatalf("output %s does not read back: %v", out, err)
		}
		if !proto.Equal(back, m) {
			t.Fatalf("round trip changed the message:\n in  %s\n out %s", in, out)
		}
	})
}
