package cluster

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// loadRate is the steady ingest load during upgrades, rollbacks and pod
// loss, in requests (small agent traces) per second.
const loadRate = 10

// servicePods maps each service pod's name to its UID.
func (r *run) servicePods(t *testing.T) map[string]string {
	t.Helper()
	pods, err := r.k.pods(t.Context(), r.ns, "app.kubernetes.io/instance="+r.release+",app.kubernetes.io/component in (gateway,ingest,query,auth,worker)")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range pods {
		out[p.Name] = string(p.UID)
	}
	return out
}

// underLoad runs change (a helm upgrade or rollback that rolls every
// service) while the steady load runs, then checks the list:
// the services rolled without losing capacity, no request failed, every
// acknowledged trace is stored, the store pods and the Secret are as they
// were.
func (r *run) underLoad(t *testing.T, what string, change func(ctx context.Context) error) {
	t.Helper()
	ctx := t.Context()
	r.snapshotStores(t)
	before := r.servicePods(t)
	l := startLoad(r.api, r.owner.key(), loadRate)
	time.Sleep(5 * time.Second)
	w := r.watchCapacity()
	start := time.Now()
	err := change(ctx)
	dips, samples := w.stop()
	took := time.Since(start)
	// The load goes on while the old pods finish draining.
	time.Sleep(10 * time.Second)
	summary, lerr := l.verify(ctx)
	t.Logf("%s took %s under load: %s; %d capacity samples", what, took.Round(time.Second), summary, samples)
	if err != nil {
		r.k.dumpNamespace(t, r.ns)
		t.Fatal(err)
	}
	if lerr != nil {
		t.Error(lerr)
	}
	if len(dips) > 0 {
		t.Errorf("a Deployment had fewer available pods than it wants during the %s (maxUnavailable is 0):\n  %s", what, strings.Join(dips, "\n  "))
	}
	after := r.servicePods(t)
	for name := range before {
		if _, still := after[name]; still {
			t.Errorf("service pod %s was not replaced by the %s", name, what)
		}
	}
	r.checkStoresUntouched(t)
}

// upgrade is step 4: `helm upgrade --wait` with a changed setting under load.
func (r *run) upgrade(t *testing.T) {
	r.underLoad(t, "upgrade", func(ctx context.Context) error {
		args := append([]string{"upgrade", r.release, chartDir, "-n", r.ns, "--wait", "--wait-for-jobs", "--timeout", "10m"}, r.values()...)
		_, err := r.k.helm(ctx, append(args, "--set", "config.logLevel=debug")...)
		return err
	})
	r.checkLogLevel(t, "debug")
}

// rollback is step 5: `helm rollback` to the first revision under load.
func (r *run) rollback(t *testing.T) {
	r.underLoad(t, "rollback", func(ctx context.Context) error {
		_, err := r.k.helm(ctx, "rollback", r.release, "1", "-n", r.ns, "--wait", "--wait-for-jobs", "--timeout", "10m")
		return err
	})
	r.checkLogLevel(t, "info")
}

// checkLogLevel checks the setting the upgrade changed, in the ConfigMap.
func (r *run) checkLogLevel(t *testing.T, want string) {
	t.Helper()
	var cm corev1.ConfigMap
	if err := r.k.get(t.Context(), &cm, "configmap", "-n", r.ns, r.release+"-config"); err != nil {
		t.Fatal(err)
	}
	if got := cm.Data["AGENTTRACE_LOG_LEVEL"]; got != want {
		t.Errorf("AGENTTRACE_LOG_LEVEL = %q, want %q", got, want)
	}
}

// evict asks the Eviction API (what kubectl drain and the cluster
// autoscaler use, and what PodDisruptionBudgets govern) to evict a pod.
func (r *run) evict(ctx context.Context, pod string) error {
	body := fmt.Sprintf(`{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":%q,"namespace":%q}}`, pod, r.ns)
	_, err := r.k.run(ctx, []byte(body), r.env.Kubectl, "create", "--raw", "/api/v1/namespaces/"+r.ns+"/pods/"+pod+"/eviction", "-f", "-")
	return err
}

// podLoss is the rest of step 5: under load, a gateway pod and a worker
// pod are evicted; a second eviction of each right after is refused by
// its PodDisruptionBudget; nothing acknowledged is lost.
func (r *run) podLoss(t *testing.T) {
	ctx := t.Context()
	l := startLoad(r.api, r.owner.key(), loadRate)
	time.Sleep(5 * time.Second)
	for _, component := range []string{"gateway", "worker"} {
		pods, err := r.k.pods(ctx, r.ns, "app.kubernetes.io/instance="+r.release+",app.kubernetes.io/component="+component)
		if err != nil {
			t.Fatal(err)
		}
		var ready []string
		for _, p := range pods {
			if podReady(p) && p.DeletionTimestamp == nil {
				ready = append(ready, p.Name)
			}
		}
		sort.Strings(ready)
		if len(ready) < 2 {
			t.Fatalf("%d ready %s pods, want at least 2", len(ready), component)
		}
		if err := r.evict(ctx, ready[0]); err != nil {
			t.Fatalf("evict %s: %v", ready[0], err)
		}
		err = r.evict(ctx, ready[1])
		switch {
		case err == nil:
			t.Errorf("a second %s pod (%s) was evicted right after the first: the PodDisruptionBudget did not hold", component, ready[1])
		case !strings.Contains(err.Error(), "disruption budget"):
			t.Errorf("second eviction of %s: want refused by the disruption budget, got %v", component, err)
		}
	}
	// The Deployments bring the evicted pods back.
	if err := eventually(ctx, 3*time.Minute, 2*time.Second, func(ctx context.Context) error {
		_, err := r.k.kubectl(ctx, "wait", "-n", r.ns, "--for=condition=Available", "deployment", "-l", "app.kubernetes.io/instance="+r.release, "--timeout=5s")
		if err != nil {
			return err
		}
		pods, err := r.k.pods(ctx, r.ns, "app.kubernetes.io/instance="+r.release+",app.kubernetes.io/component in (gateway,worker)")
		if err != nil {
			return err
		}
		ready := 0
		for _, p := range pods {
			if podReady(p) && p.DeletionTimestamp == nil {
				ready++
			}
		}
		if ready != 5 {
			return fmt.Errorf("%d gateway and worker pods ready, want 5", ready)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	time.Sleep(5 * time.Second)
	summary, err := l.verify(ctx)
	t.Logf("pod loss under load: %s", summary)
	if err != nil {
		t.Error(err)
	}
}

// uninstall is step 7: `helm uninstall` leaves what the chart README says
// it leaves (the Secret and the stores' volumes) and nothing else.
func (r *run) uninstall(t *testing.T) {
	ctx := t.Context()
	if _, err := r.k.helm(ctx, "uninstall", r.release, "-n", r.ns, "--wait", "--timeout", "5m"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"PersistentVolumeClaim/data-" + r.release + "-clickhouse-0",
		"PersistentVolumeClaim/data-" + r.release + "-nats-0",
		"PersistentVolumeClaim/data-" + r.release + "-postgres-0",
		"PersistentVolumeClaim/data-" + r.release + "-redis-0",
		"Secret/" + r.release + "-secrets",
	}
	var left []string
	err := eventually(ctx, 2*time.Minute, 3*time.Second, func(ctx context.Context) error {
		var err error
		left, err = r.leftovers(ctx)
		if err != nil {
			return err
		}
		if !slices.Equal(left, want) {
			return fmt.Errorf("left in %s after helm uninstall: %v, want %v", r.ns, left, want)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	// What is kept on purpose goes with the namespace; the provisioner
	// removes the volumes.
	if _, err := r.k.kubectl(ctx, "delete", "namespace", r.ns, "--timeout=3m"); err != nil {
		t.Error(err)
	}
}

// leftovers lists every namespaced object in r.ns as Kind/name, leaving
// out what Kubernetes itself keeps in every namespace (the default
// ServiceAccount, the kube-root-ca.crt ConfigMap) and events.
func (r *run) leftovers(ctx context.Context) ([]string, error) {
	out, err := r.k.kubectl(ctx, "api-resources", "--verbs=list", "--namespaced", "-o", "name")
	if err != nil {
		return nil, err
	}
	var kinds []string
	for _, k := range strings.Fields(string(out)) {
		if k != "events" && k != "events.events.k8s.io" {
			kinds = append(kinds, k)
		}
	}
	var list unstructured.UnstructuredList
	if err := r.k.get(ctx, &list, strings.Join(kinds, ","), "-n", r.ns); err != nil {
		return nil, err
	}
	var left []string
	for _, o := range list.Items {
		id := o.GetKind() + "/" + o.GetName()
		if id == "ServiceAccount/default" || id == "ConfigMap/kube-root-ca.crt" {
			continue
		}
		left = append(left, id)
	}
	sort.Strings(left)
	return left, nil
}
