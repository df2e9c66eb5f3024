// Package cluster proves charts/agenttrace on a real Kubernetes cluster: the
// single node that scripts/cluster/up.sh runs on this machine (`make
// cluster-test`, part of `make test`). It installs the chart with the helm
// CLI as an operator would and checks what an operator relies on: a
// `helm install --wait` into a namespace that enforces the restricted pod
// security profile, the platform working end to end through its Services
// (REST, OTLP/gRPC, OTLP/HTTP, signup and login, tenancy), NetworkPolicies
// that open exactly the architecture's paths, upgrade, rollback and pod
// loss under a steady ingest load with nothing acknowledged lost, an
// uninstall that leaves what the README says, and the external-stores
// scenario against the stores running on the host.
//
// The stores run as stand-in images built from Debian's packages
// (scripts/cluster/images.sh), not the official images: what this proves
// about them is the chart's wiring, not the official images' behaviour.
//
// Without AGENTTRACE_CLUSTER_ENV (the cluster.env file up.sh writes) the
// tests skip.
package cluster
