// Package chart verifies the Helm chart in charts/agenttrace without a
// cluster. It renders the chart with Helm's SDK as `helm install` does,
// with `lookup` answered by a fake cluster (by default a fresh, existing
// namespace; tests put Secrets or a running StatefulSet in it) for the
// default values and every ci/*-values.yaml scenario, decodes every
// document strictly into its typed Kubernetes (or prometheus-operator)
// struct, and the tests check the deployment guide's numbers and alert
// thresholds, pod security, ServiceAccounts, images and pull secrets, the
// Secret's life cycle (refused offline, generated, reused, validated), the
// migrations Job, the stores' upgrade behaviour, Secret and ConfigMap
// references, the services' environment contract (from each binary's
// `config` command), the alert expressions, and the connections the
// NetworkPolicies allow, evaluated with NetworkPolicy semantics against
// the architecture's list.
package chart
