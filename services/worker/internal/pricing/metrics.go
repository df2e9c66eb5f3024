package pricing

import "github.com/prometheus/client_golang/prometheus"

// Outcomes counted by agenttrace_worker_cost_computed_total.
const (
	// OutcomeComputed: the worker priced the observation's usage.
	OutcomeComputed = "computed"
	// OutcomeClient: the event carries a cost of the client's, which wins.
	OutcomeClient = "client"
	// OutcomeNoPrice: no price is in effect for the model (or the event
	// carries usage but no model, or no table is loaded yet), or the price
	// has none of the usage types the event counts.
	OutcomeNoPrice = "no_price"
	// OutcomeNoUsage: the event names a model but counts no usage.
	OutcomeNoUsage = "no_usage"
)

const (
	refreshLoaded = "loaded"
	refreshFailed = "failed"
)

// Metrics are the pricing instruments.
type Metrics struct {
	costs     *prometheus.CounterVec
	refreshes *prometheus.CounterVec
	prices    prometheus.Gauge
}

// NewMetrics creates the instruments and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		costs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agenttrace_worker_cost_computed_total",
			Help: "Observation events with a model or usage, by how their cost was settled (computed, client, no_price, no_usage).",
		}, []string{"outcome"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agenttrace_worker_prices_refreshes_total",
			Help: "Loads of the model price table from auth, by outcome (loaded, failed).",
		}, []string{"outcome"}),
		prices: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "agenttrace_worker_prices_loaded",
			Help: "Model prices in the table in use.",
		}),
	}
	for _, o := range []string{OutcomeComputed, OutcomeClient, OutcomeNoPrice, OutcomeNoUsage} {
		m.costs.WithLabelValues(o)
	}
	for _, o := range []string{refreshLoaded, refreshFailed} {
		m.refreshes.WithLabelValues(o)
	}
	reg.MustRegister(m.costs, m.refreshes, m.prices)
	return m
}
