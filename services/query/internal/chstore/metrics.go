package chstore

import (
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics times every ClickHouse read, from sending the query to closing
// its rows, by query name (agenttrace_clickhouse_query_duration_seconds).
type Metrics struct {
	duration *prometheus.HistogramVec
}

// NewMetrics registers the read metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "agenttrace_clickhouse_query_duration_seconds",
		Help:    "Time of ClickHouse reads, from sending the query until its rows are closed, by query and outcome.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"query", "outcome"})}
	if err := reg.Register(m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// WithMetrics makes s time its reads with m.
func (s *Store) WithMetrics(m *Metrics) *Store {
	s.metrics = m
	return s
}

func (m *Metrics) observe(name string, start time.Time, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.duration.WithLabelValues(name, outcome).Observe(time.Since(start).Seconds())
}

// timedRows observes the query's duration when its rows are closed.
type timedRows struct {
	driver.Rows
	m     *Metrics
	name  string
	start time.Time
	done  bool
}

func (r *timedRows) Close() error {
	err := r.Rows.Close()
	if !r.done {
		r.done = true
		if err == nil {
			err = r.Rows.Err()
		}
		r.m.observe(r.name, r.start, err)
	}
	return err
}
