package pgstore

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// PoolCollector exports the connection pool's state, read at scrape time,
// so alerts can see the pool running out of connections before calls fail.
type PoolCollector struct {
	pool *pgxpool.Pool

	max, acquired, idle, total *prometheus.Desc
	acquires, emptyAcquires    *prometheus.Desc
	waitSeconds                *prometheus.Desc
}

// NewPoolCollector describes pool's metrics (agenttrace_postgres_pool_*).
func NewPoolCollector(pool *pgxpool.Pool) *PoolCollector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &PoolCollector{
		pool:          pool,
		max:           d("agenttrace_postgres_pool_max_conns", "Largest number of connections the pool may hold."),
		acquired:      d("agenttrace_postgres_pool_acquired_conns", "Connections currently in use."),
		idle:          d("agenttrace_postgres_pool_idle_conns", "Connections open and idle."),
		total:         d("agenttrace_postgres_pool_total_conns", "Connections open (in use, idle or being set up)."),
		acquires:      d("agenttrace_postgres_pool_acquires_total", "Connections handed out by the pool."),
		emptyAcquires: d("agenttrace_postgres_pool_empty_acquires_total", "Acquires that had to wait because no connection was idle."),
		waitSeconds:   d("agenttrace_postgres_pool_acquire_wait_seconds_total", "Time spent waiting for a connection."),
	}
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.max, c.acquired, c.idle, c.total, c.acquires, c.emptyAcquires, c.waitSeconds} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(c.acquired, prometheus.GaugeValue, float64(s.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(s.IdleConns()))
	ch <- prometheus.MustNewConstMetric(c.total, prometheus.GaugeValue, float64(s.TotalConns()))
	ch <- prometheus.MustNewConstMetric(c.acquires, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.emptyAcquires, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.waitSeconds, prometheus.CounterValue, s.AcquireDuration().Seconds())
}
