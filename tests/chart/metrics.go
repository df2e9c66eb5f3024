package chart

import (
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// metricName is what a Prometheus metric name looks like (Go string
// literals of this shape in the services' code are their metric names).
var metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// StandardMetrics are the metrics every service exports through the shared
// service shell (pkg/service): the Go and process collectors and
// go-grpc-middleware's server metrics with the handling-time histogram.
// Their names are built inside those libraries, so they are listed here;
// TestStandardMetricsAreRegistered checks the shell still registers them.
var StandardMetrics = []string{
	"grpc_server_started_total",
	"grpc_server_handled_total",
	"grpc_server_msg_received_total",
	"grpc_server_msg_sent_total",
	"grpc_server_handling_seconds",
	"go_goroutines",
	"go_memstats_alloc_bytes",
	"go_gc_duration_seconds",
	"process_cpu_seconds_total",
	"process_resident_memory_bytes",
	"process_open_fds",
	// Series Prometheus itself records for every scrape target.
	"up",
	"scrape_duration_seconds",
	"scrape_samples_scraped",
}

// SourceMetricNames returns every string literal shaped like a metric name
// with an underscore in it, in the non-test Go files under the given
// directories (generated code in pkg/gen excluded). A metric an alert uses
// must appear there literally: the services name their metrics with full
// literal names (no Namespace/Subsystem composition).
//
// Reading /metrics of running services would be exact but needs the whole
// stack; the literal scan is the cheap proxy, and it can only let through a
// name that occurs in code without being a metric, not miss a real one.
func SourceMetricNames(dirs ...string) (map[string]bool, error) {
	names := map[string]bool{}
	for _, dir := range dirs {
		// WalkDir does not descend into a symlinked root.
		dir, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return nil, err
		}
		err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "gen" || d.Name() == "testdata" || d.Name() == "node_modules" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, lit := range stringLiterals(src) {
				if strings.Contains(lit, "_") && metricName.MatchString(lit) {
					names[lit] = true
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return names, nil
}

func stringLiterals(src []byte) []string {
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(src))
	var s scanner.Scanner
	s.Init(file, src, nil, 0)
	var out []string
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			return out
		}
		if tok == token.STRING {
			if v, err := strconv.Unquote(lit); err == nil {
				out = append(out, v)
			}
		}
	}
}

// baseMetric strips the series suffixes of histograms and summaries.
func baseMetric(name string, known map[string]bool) string {
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if b, ok := strings.CutSuffix(name, suf); ok && known[b] {
			return b
		}
	}
	return name
}
