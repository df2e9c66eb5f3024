package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// A path is one TCP connection the architecture does or does not have.
type path struct {
	from string // a probe pod ("probe/<name>") or a component whose pod gets an ephemeral container
	to   string // host:port
	open bool
}

// probeSecurity is a container security context the restricted profile admits.
const probeSecurity = `{"runAsNonRoot": true, "runAsUser": 65534, "runAsGroup": 65534, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}`

// networkPolicies is step 3: with kube-router enforcing NetworkPolicy, the
// paths of the architecture are open and a representative set of others
// is refused: another app's pod to every store and to auth's admin port,
// the gateway to PostgreSQL and ClickHouse, anything but Prometheus's
// namespace to the admin ports. Each refused store has an open path from
// its real client beside it, so a refusal is the policy and not a store
// that is down.
func (r *run) networkPolicies(t *testing.T) {
	ctx := t.Context()
	rel := r.release
	svc := func(name string, port int) string { return fmt.Sprintf("%s-%s.%s.svc:%d", rel, name, r.ns, port) }
	// Two pods outside the release: another app in the release's
	// namespace, and Prometheus in the monitoring namespace (selected by
	// networkPolicy.prometheus), plus a pod there that is not Prometheus.
	if err := r.k.apply(ctx, `apiVersion: v1
kind: Namespace
metadata:
  name: monitoring
  labels:
    pod-security.kubernetes.io/enforce: restricted
`); err != nil {
		t.Fatal(err)
	}
	probes := map[string]string{
		"other-app":  r.ns + "/app=other-app",
		"prometheus": "monitoring/app.kubernetes.io/name=prometheus",
		"grafana":    "monitoring/app.kubernetes.io/name=grafana",
	}
	for name, where := range probes {
		ns, label, _ := strings.Cut(where, "/")
		if err := r.startProbe(ctx, ns, name, label); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := r.k.kubectl(ctx, "delete", "pod", "-n", r.ns, "other-app", "--wait=false"); err != nil {
			t.Logf("cleanup: %v", err)
		}
		if _, err := r.k.kubectl(ctx, "delete", "namespace", "monitoring", "--wait=false"); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	for name, where := range probes {
		ns, _, _ := strings.Cut(where, "/")
		if _, err := r.k.kubectl(ctx, "wait", "-n", ns, "--for=condition=Ready", "pod/"+name, "--timeout=120s"); err != nil {
			t.Fatal(err)
		}
	}

	var paths []path
	for _, store := range []struct {
		name, client string
		port         int
	}{{"postgres", "auth", 5432}, {"clickhouse", "query", 9000}, {"redis", "ingest", 6379}, {"nats", "worker", 4222}} {
		paths = append(paths,
			path{store.client, svc(store.name, store.port), true},
			path{"probe/other-app", svc(store.name, store.port), false})
	}
	paths = append(paths,
		path{"gateway", svc("postgres", 5432), false},
		path{"gateway", svc("clickhouse", 9000), false},
		path{"gateway", svc("auth", 9083), true},
		path{"worker", svc("auth", 9083), true},
		path{"probe/other-app", svc("auth", 9183), false},
		path{"probe/other-app", svc("gateway", 8080), false},
		path{"probe/grafana", svc("auth", 9183), false},
		path{"gateway", svc("auth", 9183), false},
	)
	// Prometheus reaches every service's admin port (it scrapes /metrics).
	for i, c := range []string{"gateway", "ingest", "query", "auth", "worker"} {
		paths = append(paths, path{"probe/prometheus", svc(c, 9180+i), true})
	}
	for _, p := range paths {
		if err := r.checkPath(ctx, p); err != nil {
			t.Error(err)
		}
	}
}

// startProbe runs a busybox pod that sleeps, for `kubectl exec nc`.
func (r *run) startProbe(ctx context.Context, ns, name, label string) error {
	k, v, _ := strings.Cut(label, "=")
	return r.k.apply(ctx, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
  labels: {%q: %q}
spec:
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 0
  securityContext: {runAsNonRoot: true, runAsUser: 65534, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: probe
      image: %s
      command: ["sleep", "3600"]
      securityContext: %s
`, name, ns, k, v, r.env.Images["busybox"], probeSecurity))
}

// checkPath connects as p says and compares with p.open. Open paths are
// retried (kube-router applies policy to a new pod a few seconds late, and
// DNS may lag); closed ones must stay closed over a few attempts, so a
// connection that gets through before the policy lands fails the test only
// if it keeps getting through.
func (r *run) checkPath(ctx context.Context, p path) error {
	host, port, _ := strings.Cut(p.to, ":")
	attempt := func(ctx context.Context) (bool, string, error) {
		if probe, ok := strings.CutPrefix(p.from, "probe/"); ok {
			ns := r.ns
			if probe == "prometheus" || probe == "grafana" {
				ns = "monitoring"
			}
			out, err := r.k.kubectl(ctx, "exec", "-n", ns, probe, "--", "nc", "-w", "3", host, port)
			return err == nil, string(out), nil
		}
		return r.ephemeralConnect(ctx, p.from, host, port)
	}
	deadline := time.Now().Add(45 * time.Second)
	var last string
	for {
		connected, detail, err := attempt(ctx)
		if err != nil {
			return fmt.Errorf("%s -> %s: %w", p.from, p.to, err)
		}
		last = detail
		if connected == p.open {
			if p.open {
				return nil
			}
			// Refused: check once more a little later, then believe it.
			time.Sleep(2 * time.Second)
			if again, _, err := attempt(ctx); err == nil && !again {
				return nil
			}
		}
		if time.Now().After(deadline) {
			want := "refused"
			if p.open {
				want = "open"
			}
			return fmt.Errorf("%s -> %s: want %s, got the opposite for 45s (%s)", p.from, p.to, want, strings.TrimSpace(last))
		}
		time.Sleep(3 * time.Second)
	}
}

// ephemeralConnect adds an ephemeral busybox container to a pod of the
// component (same network identity, so the same NetworkPolicies) that runs
// nc once, and reports whether it connected.
func (r *run) ephemeralConnect(ctx context.Context, component, host, port string) (bool, string, error) {
	pods, err := r.k.pods(ctx, r.ns, "app.kubernetes.io/instance="+r.release+",app.kubernetes.io/component="+component)
	if err != nil {
		return false, "", err
	}
	var pod *corev1.Pod
	for i := range pods {
		if podReady(pods[i]) {
			pod = &pods[i]
			break
		}
	}
	if pod == nil {
		return false, "", fmt.Errorf("no ready %s pod", component)
	}
	name := "netprobe-" + randomHex(3)
	custom, err := json.Marshal(map[string]any{"securityContext": json.RawMessage(probeSecurity)})
	if err != nil {
		return false, "", err
	}
	if _, err := r.k.run(ctx, custom, r.env.Kubectl, "debug", "-n", r.ns, "pod/"+pod.Name, "--image="+r.env.Images["busybox"],
		"--container="+name, "--profile=restricted", "--custom=/dev/stdin", "--", "nc", "-w", "3", host, port); err != nil {
		return false, "", err
	}
	var code int32 = -1
	err = eventually(ctx, 60*time.Second, time.Second, func(ctx context.Context) error {
		var p corev1.Pod
		if err := r.k.get(ctx, &p, "pod", "-n", r.ns, pod.Name); err != nil {
			return err
		}
		for _, s := range p.Status.EphemeralContainerStatuses {
			if s.Name == name && s.State.Terminated != nil {
				code = s.State.Terminated.ExitCode
				return nil
			}
		}
		return fmt.Errorf("ephemeral container %s in %s has not finished", name, pod.Name)
	})
	if err != nil {
		return false, "", err
	}
	logs, _ := r.k.kubectl(ctx, "logs", "-n", r.ns, pod.Name, "-c", name)
	return code == 0, fmt.Sprintf("exit %d %s", code, logs), nil
}
