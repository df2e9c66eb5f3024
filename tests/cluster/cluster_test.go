package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// chartDir is charts/agenttrace, from this package's directory.
var chartDir = filepath.Join("..", "..", "charts", "agenttrace")

// run is one installation of the chart and what the steps learn about it.
type run struct {
	k       *kube
	env     *clusterEnv
	ns      string
	release string
	api     *api
	owner   *tenant
	// What must survive upgrades: the store pods and the generated Secret.
	storePods map[string]corev1.Pod
	secret    map[string][]byte
}

// requireCluster returns the cluster's settings or skips the test.
func requireCluster(t *testing.T) *clusterEnv {
	t.Helper()
	env, ok, err := loadEnv()
	if !ok {
		t.Skip("no local cluster: `make cluster-test` runs this with AGENTTRACE_CLUSTER_ENV set")
	}
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// step is one numbered check of the list; a failed step stops the
// ones after it (they build on it).
type step struct {
	name string
	run  func(t *testing.T)
}

// runSteps runs steps in order, printing each one's duration, and stops at
// the first failure.
func runSteps(t *testing.T, steps []step) {
	t.Helper()
	var report []string
	defer func() {
		fmt.Fprintf(os.Stderr, "\n%s step durations:\n  %s\n", t.Name(), strings.Join(report, "\n  "))
	}()
	for _, s := range steps {
		start := time.Now()
		ok := t.Run(s.name, s.run)
		verdict := "ok"
		if !ok {
			verdict = "FAILED"
		}
		report = append(report, fmt.Sprintf("%-28s %8s  %s", s.name, time.Since(start).Round(100*time.Millisecond), verdict))
		if !ok {
			return
		}
	}
}

// TestCluster installs the chart with the in-cluster stores (stand-ins) and
// runs the steps 1 to 5 and 7 against that release, then the
// external-stores scenario (step 6) as a second release.
func TestCluster(t *testing.T) {
	env := requireCluster(t)
	r := &run{k: &kube{env: env}, env: env, ns: "agenttrace", release: "agenttrace"}
	ext := &run{k: &kube{env: env}, env: env, ns: "agenttrace-external", release: "agenttrace"}
	clearLeftovers(t, r.k, r.ns, ext.ns, "monitoring")
	runSteps(t, []step{
		{"1-install", r.install},
		{"2-end-to-end", r.endToEnd},
		{"3-network-policies", r.networkPolicies},
		{"4-upgrade-under-load", r.upgrade},
		{"5a-rollback-under-load", r.rollback},
		{"5b-pod-loss-under-load", r.podLoss},
		{"7-uninstall", r.uninstall},
		{"6-external-stores", ext.externalStores},
	})
}

// clearLeftovers removes what an interrupted earlier run on the same
// cluster left (releases and namespaces), so that every run starts clean.
func clearLeftovers(t *testing.T, k *kube, namespaces ...string) {
	t.Helper()
	ctx := t.Context()
	for _, ns := range namespaces {
		out, _ := k.helm(ctx, "list", "-n", ns, "-q")
		for _, release := range strings.Fields(string(out)) {
			t.Logf("removing release %s left in %s by an earlier run", release, ns)
			if _, err := k.helm(ctx, "uninstall", release, "-n", ns, "--wait", "--timeout", "3m"); err != nil {
				t.Log(err)
			}
		}
	}
	args := append([]string{"delete", "namespace", "--ignore-not-found", "--timeout=5m"}, namespaces...)
	if _, err := k.kubectl(ctx, args...); err != nil {
		t.Fatalf("removing what an earlier run left: %v", err)
	}
}

// storeImage splits an image reference into the chart's repository and tag.
func storeImage(ref string) (repo, tag string) {
	i := strings.LastIndex(ref, ":")
	return ref[:i], ref[i+1:]
}

// values are the overrides of every install: images (the services' local
// build, the stores' stand-ins, busybox for the test pod) and, from
// testdata/one-node.yaml, CPU requests a 2-core node can hold.
func (r *run) values() []string {
	args := []string{
		"-f", filepath.Join("testdata", "one-node.yaml"),
		"--set", "image.registry=" + r.env.ServiceRegistry,
		"--set", "image.tag=" + r.env.ServiceTag,
		"--set", "tests.image=" + r.env.Images["busybox"],
	}
	for _, store := range []string{"postgres", "clickhouse", "redis", "nats"} {
		repo, tag := storeImage(r.env.Images[store])
		args = append(args, "--set", store+".image.repository="+repo, "--set", store+".image.tag="+tag)
	}
	return args
}

// namespace creates ns enforcing the restricted pod-security profile,
// after a namespace of that name still being deleted is gone.
func (r *run) namespace(ctx context.Context) error {
	if err := eventually(ctx, 3*time.Minute, 2*time.Second, func(ctx context.Context) error {
		// Not r.k.get: --ignore-not-found prints nothing for a namespace
		// that is gone, which is no JSON; a kubectl that fails is retried,
		// not taken for a namespace that is gone.
		b, err := r.k.kubectl(ctx, "get", "namespace", r.ns, "--ignore-not-found", "-o", "json")
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return nil
		}
		var ns corev1.Namespace
		if err := json.Unmarshal(b, &ns); err != nil {
			return fmt.Errorf("kubectl get namespace %s: decode: %w", r.ns, err)
		}
		if ns.Status.Phase != corev1.NamespaceTerminating {
			return nil
		}
		return fmt.Errorf("namespace %s is still being deleted", r.ns)
	}); err != nil {
		return err
	}
	return r.k.apply(ctx, fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %s
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
    pod-security.kubernetes.io/warn: restricted
`, r.ns))
}

// helmInstall installs the release with --wait, dumping the namespace on failure.
func (r *run) helmInstall(t *testing.T, extra ...string) {
	t.Helper()
	args := append([]string{"install", r.release, chartDir, "-n", r.ns, "--wait", "--timeout", "10m"}, r.values()...)
	start := time.Now()
	if _, err := r.k.helm(t.Context(), append(args, extra...)...); err != nil {
		r.k.dumpNamespace(t, r.ns)
		t.Fatal(err)
	}
	t.Logf("helm install --wait: %s", time.Since(start).Round(time.Second))
}

// install is step 1: helm install --wait into a restricted namespace, every
// pod admitted and Ready, the migrations applied, helm test green.
func (r *run) install(t *testing.T) {
	ctx := t.Context()
	if err := r.namespace(ctx); err != nil {
		t.Fatal(err)
	}
	r.checkRestrictedEnforced(t)
	r.helmInstall(t)
	r.checkInstalled(t, 18)
}

// checkRestrictedEnforced shows that the namespace really refuses a pod
// that breaks the restricted profile, so "every pod admitted" means something.
func (r *run) checkRestrictedEnforced(t *testing.T) {
	t.Helper()
	err := r.k.apply(t.Context(), fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: privileged-probe, namespace: %s}
spec:
  containers:
    - name: c
      image: %s
      securityContext: {privileged: true}
`, r.ns, r.env.Images["busybox"]))
	if err == nil || !strings.Contains(err.Error(), "PodSecurity") {
		t.Fatalf("a privileged pod in %s: want refused by PodSecurity (restricted), got %v", r.ns, err)
	}
}

// checkInstalled checks a fresh install: `want` pods Ready (every
// Deployment and StatefulSet pod), none refused by admission, the
// migrations Job complete, and `helm test` passing.
func (r *run) checkInstalled(t *testing.T, want int) {
	t.Helper()
	ctx := t.Context()
	pods, err := r.k.pods(ctx, r.ns, "app.kubernetes.io/instance="+r.release)
	if err != nil {
		t.Fatal(err)
	}
	ready := 0
	for _, p := range pods {
		switch {
		case p.Labels["app.kubernetes.io/component"] == "migrations":
		case podReady(p):
			ready++
		default:
			t.Errorf("pod %s is not ready (%s)", p.Name, p.Status.Phase)
		}
	}
	if ready != want {
		t.Errorf("%d pods ready, want %d (3 each of gateway, ingest, query, auth; 2 workers; 4 stores)", ready, want)
	}
	var events corev1.EventList
	if err := r.k.get(ctx, &events, "events", "-n", r.ns); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if e.Reason == "FailedCreate" {
			t.Errorf("%s %s: %s", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message)
		}
	}
	var jobs batchv1.JobList
	if err := r.k.get(ctx, &jobs, "jobs", "-n", r.ns, "-l", "app.kubernetes.io/component=migrations"); err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 1 || jobs.Items[0].Status.Succeeded != 1 {
		t.Errorf("want one completed migrations Job, got %d (%+v)", len(jobs.Items), jobStatuses(jobs.Items))
	} else {
		// What each `migrate up` prints when it is done.
		for container, done := range map[string]string{"postgres": `"msg":"schema migrated"`, "clickhouse": "database "} {
			out, err := r.k.kubectl(ctx, "logs", "-n", r.ns, "job/"+jobs.Items[0].Name, "-c", container)
			if err != nil {
				t.Error(err)
			} else if !strings.Contains(string(out), done) {
				t.Errorf("migrations Job, container %s: no %q in its log:\n%s", container, done, out)
			}
		}
	}
	// The test pod is deleted when it passes (hook-succeeded), so its log
	// is read only when it fails.
	if _, err := r.k.helm(ctx, "test", r.release, "-n", r.ns, "--timeout", "3m"); err != nil {
		logs, _ := r.k.kubectl(ctx, "logs", "-n", r.ns, r.release+"-test-health")
		t.Errorf("helm test: %v\n%s", err, logs)
	}
}

func jobStatuses(jobs []batchv1.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, fmt.Sprintf("%s succeeded=%d failed=%d", j.Name, j.Status.Succeeded, j.Status.Failed))
	}
	return out
}

// connect points the API client at the release's Services.
func (r *run) connect(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	gw, err := r.k.clusterIP(ctx, r.ns, r.release+"-gateway")
	if err != nil {
		t.Fatal(err)
	}
	ing, err := r.k.clusterIP(ctx, r.ns, r.release+"-ingest")
	if err != nil {
		t.Fatal(err)
	}
	r.api = &api{base: "http://" + gw + ":8080", otlpGRPC: ing + ":4317", hc: &http.Client{Timeout: 30 * time.Second}}
}

// endToEnd is step 2: through the Services, a first user signs up and logs
// in, native REST ingestion, OTLP/gRPC and OTLP/HTTP are read back, and a
// second project sees nothing of the first.
func (r *run) endToEnd(t *testing.T) {
	ctx := t.Context()
	r.connect(t)
	owner, err := r.api.signup(ctx, "cluster")
	if err != nil {
		t.Fatal(err)
	}
	r.owner = owner
	key := owner.key()

	restTrace, batch := agentTrace("rest")
	if err := r.api.ingest(ctx, key, batch); err != nil {
		t.Fatal(err)
	}
	grpcTrace, req := otlpRequest("cluster-grpc")
	if err := r.api.exportGRPC(ctx, key, req); err != nil {
		t.Fatal(err)
	}
	httpTrace, req := otlpRequest("cluster-http")
	if err := r.api.exportHTTP(ctx, key, req); err != nil {
		t.Fatal(err)
	}
	for what, id := range map[string]string{"REST": restTrace, "OTLP/gRPC": grpcTrace, "OTLP/HTTP": httpTrace} {
		if err := r.api.waitTrace(ctx, key, id, 2); err != nil {
			t.Errorf("%s trace: %v", what, err)
		}
	}

	// A second project of the same organization, with its own key.
	other := *owner
	if err := r.api.addProject(ctx, &other, "second"); err != nil {
		t.Fatal(err)
	}
	otherTrace, batch := agentTrace("second")
	if err := r.api.ingest(ctx, other.key(), batch); err != nil {
		t.Fatal(err)
	}
	if err := r.api.waitTrace(ctx, other.key(), otherTrace, 2); err != nil {
		t.Fatal(err)
	}
	seen, err := r.api.traceIDs(ctx, other.key())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{restTrace, grpcTrace, httpTrace} {
		if seen[id] {
			t.Errorf("the second project lists the first project's trace %s", id)
		}
		if status, _ := r.api.call(ctx, other.key(), http.MethodGet, "/api/v1/traces/"+id, nil, nil); status != http.StatusNotFound {
			t.Errorf("the second project's key reads the first project's trace %s: HTTP %d, want 404", id, status)
		}
	}
	if !seen[otherTrace] || len(seen) != 1 {
		t.Errorf("the second project lists %d traces (its own: %v), want exactly its own", len(seen), seen[otherTrace])
	}
}

// snapshotStores records the store pods and the generated Secret, which
// upgrades and rollbacks must leave alone.
func (r *run) snapshotStores(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	pods, err := r.k.pods(ctx, r.ns, "app.kubernetes.io/instance="+r.release+",app.kubernetes.io/part-of=agenttrace,app")
	if err != nil {
		t.Fatal(err)
	}
	r.storePods = map[string]corev1.Pod{}
	for _, p := range pods {
		r.storePods[p.Name] = p
	}
	if len(r.storePods) != 4 {
		t.Fatalf("%d store pods, want 4", len(r.storePods))
	}
	var s corev1.Secret
	if err := r.k.get(ctx, &s, "secret", "-n", r.ns, r.release+"-secrets"); err != nil {
		t.Fatal(err)
	}
	r.secret = s.Data
}

// checkStoresUntouched compares the store pods and the Secret with the snapshot.
func (r *run) checkStoresUntouched(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	for name, before := range r.storePods {
		var now corev1.Pod
		if err := r.k.get(ctx, &now, "pod", "-n", r.ns, name); err != nil {
			t.Errorf("store pod %s: %v", name, err)
			continue
		}
		if now.UID != before.UID {
			t.Errorf("store pod %s was replaced", name)
		}
		if restarts(now) != restarts(before) {
			t.Errorf("store pod %s restarted (%d -> %d)", name, restarts(before), restarts(now))
		}
	}
	var s corev1.Secret
	if err := r.k.get(ctx, &s, "secret", "-n", r.ns, r.release+"-secrets"); err != nil {
		t.Fatal(err)
	}
	var changed []string
	for k, v := range r.secret {
		if string(s.Data[k]) != string(v) {
			changed = append(changed, k)
		}
	}
	if len(changed) > 0 || len(s.Data) != len(r.secret) {
		slices.Sort(changed)
		t.Errorf("the generated Secret changed: keys %v (now %d keys, before %d)", changed, len(s.Data), len(r.secret))
	}
}

func restarts(p corev1.Pod) int32 {
	var n int32
	for _, c := range p.Status.ContainerStatuses {
		n += c.RestartCount
	}
	return n
}
