package config

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

type describeInner struct {
	Host string `env:"HOST" envDefault:"localhost"`
	Pass Secret `env:"PASS" envDefault:"not-shown"`
}

type describeConfig struct {
	Base
	Inner    describeInner
	Prefixed describeInner  `envPrefix:"PX_"`
	Ptr      *describeInner `envPrefix:"PTR_"`
	Token    Secret         `env:"TOKEN,required"`
	Name     string         `env:"NAME,notEmpty"`
	Ignored  string         `env:"-"`
	Plain    string
	hidden   string `env:"HIDDEN"` // proves unexported fields are skipped
}

func TestDescribe(t *testing.T) {
	cfg := describeConfig{Base: Base{GRPCAddr: ":9083"}, Ptr: &describeInner{}, hidden: "x"}
	_ = cfg.hidden
	got, err := Describe(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []Var{
		{Name: "AGENTTRACE_LOG_LEVEL", Type: "string", Default: "info"},
		{Name: "AGENTTRACE_LOG_FORMAT", Type: "string", Default: "json"},
		{Name: "AGENTTRACE_GRPC_ADDR", Type: "string", Default: ":9083"},
		{Name: "AGENTTRACE_ADMIN_ADDR", Type: "string"},
		{Name: "AGENTTRACE_DRAIN_DELAY", Type: "time.Duration", Default: "2s"},
		{Name: "AGENTTRACE_SHUTDOWN_TIMEOUT", Type: "time.Duration", Default: "25s"},
		{Name: "AGENTTRACE_OTEL_EXPORTER_OTLP_ENDPOINT", Type: "string"},
		{Name: "AGENTTRACE_HOST", Type: "string", Default: "localhost"},
		{Name: "AGENTTRACE_PASS", Type: "config.Secret", Secret: true},
		{Name: "AGENTTRACE_PX_HOST", Type: "string", Default: "localhost"},
		{Name: "AGENTTRACE_PX_PASS", Type: "config.Secret", Secret: true},
		{Name: "AGENTTRACE_PTR_HOST", Type: "string", Default: "localhost"},
		{Name: "AGENTTRACE_PTR_PASS", Type: "config.Secret", Secret: true},
		{Name: "AGENTTRACE_TOKEN", Type: "config.Secret", Required: true, Secret: true},
		{Name: "AGENTTRACE_NAME", Type: "string", Required: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Describe =\n%+v\nwant\n%+v", got, want)
	}
}

// TestDescribeMatchesLoad proves Describe names exactly the variables Load
// reads: setting each described variable must change the loaded struct.
func TestDescribeMatchesLoad(t *testing.T) {
	vars, err := Describe(describeConfig{Ptr: &describeInner{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		t.Run(v.Name, func(t *testing.T) {
			t.Setenv("AGENTTRACE_TOKEN", "t")
			t.Setenv("AGENTTRACE_NAME", "n")
			before, after := describeConfig{Ptr: &describeInner{}}, describeConfig{Ptr: &describeInner{}}
			if err := Load(&before); err != nil {
				t.Fatal(err)
			}
			val := "changed"
			if v.Type == "time.Duration" {
				val = "7m"
			}
			t.Setenv(v.Name, val)
			if err := Load(&after); err != nil {
				t.Fatal(err)
			}
			if reflect.DeepEqual(before, after) {
				t.Errorf("setting %s changed nothing: Describe lists a variable Load does not read", v.Name)
			}
		})
	}
}

func TestDescribeSkipsNilPointers(t *testing.T) {
	vars, err := Describe(describeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		if v.Name == "AGENTTRACE_PTR_HOST" || v.Name == "AGENTTRACE_PTR_PASS" {
			t.Errorf("%s listed, but Load skips a nil struct pointer", v.Name)
		}
	}
}

func TestDescribeRejectsNonStruct(t *testing.T) {
	for _, in := range []any{nil, 3, "s", new(int)} {
		if _, err := Describe(in); !errors.Is(err, errNoStruct) {
			t.Errorf("Describe(%T) error = %v, want errNoStruct", in, err)
		}
	}
}

func TestPrintVars(t *testing.T) {
	var buf strings.Builder
	if err := PrintVars(&buf, describeConfig{}); err != nil {
		t.Fatal(err)
	}
	var got []Var
	if err := json.Unmarshal([]byte(buf.String()), &got); err != nil {
		t.Fatalf("output is not a JSON array of Var: %v\n%s", err, buf.String())
	}
	want, _ := Describe(describeConfig{})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PrintVars round trip = %+v, want %+v", got, want)
	}
	if strings.Contains(buf.String(), "not-shown") {
		t.Error("a secret's default was printed")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestPrintVarsErrors(t *testing.T) {
	if err := PrintVars(&strings.Builder{}, 42); !errors.Is(err, errNoStruct) {
		t.Errorf("non-struct: err = %v, want errNoStruct", err)
	}
	if err := PrintVars(failingWriter{}, describeConfig{}); err == nil {
		t.Error("failing writer: want error")
	}
}
