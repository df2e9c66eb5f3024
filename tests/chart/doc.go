// Package chart verifies the Helm chart in charts/agenttrace without a
// cluster: it renders the chart with Helm's SDK for the default values and
// every ci/*-values.yaml scenario, decodes every document strictly into its
// typed Kubernetes (or prometheus-operator) struct, and the tests check the
// deployment guide's numbers, pod security, NetworkPolicy selectors, Secret
// and ConfigMap references, the services' environment contract (from each
// binary's `config` command) and the alert expressions.
package chart
