package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

type testConfig struct {
	Base
	Password Secret `env:"PASSWORD"`
	Batch    int    `env:"BATCH" envDefault:"10"`
}

func TestLoadAppliesPrefixAndKeepsPresetDefaults(t *testing.T) {
	t.Setenv("AGENTTRACE_PASSWORD", "hunter2")
	t.Setenv("AGENTTRACE_DRAIN_DELAY", "5s")
	cfg := testConfig{Base: Base{GRPCAddr: ":1234"}}
	if err := Load(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.GRPCAddr != ":1234" {
		t.Errorf("preset default lost: %q", cfg.GRPCAddr)
	}
	if cfg.DrainDelay != 5*time.Second || cfg.Batch != 10 || cfg.LogLevel != "info" {
		t.Errorf("unexpected config %+v", cfg)
	}
	if cfg.Password.Value() != "hunter2" {
		t.Errorf("secret not loaded")
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("hunter2")
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %s %#v", s, s, s), fmt.Sprintf("%+v", struct{ S Secret }{s}), s.LogValue().String()} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("secret printed: %q", out)
		}
	}
}

func TestLoadRejectsBadValues(t *testing.T) {
	t.Setenv("AGENTTRACE_BATCH", "many")
	var cfg testConfig
	if err := Load(&cfg); err == nil {
		t.Fatal("want error for non-numeric BATCH")
	}
}
