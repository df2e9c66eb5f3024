package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// clusterEnv is what scripts/cluster/up.sh wrote into cluster.env.
type clusterEnv struct {
	Kubeconfig, Kubectl, Helm string
	NodeIP, NodeName          string
	StorageClass              string
	ServiceRegistry           string
	ServiceTag                string
	Images                    map[string]string // store stand-ins and busybox, by store name
	Logs                      string
}

// loadEnv reads the file named by AGENTTRACE_CLUSTER_ENV; ok is false when
// the variable is unset (no cluster: the tests skip).
func loadEnv() (env *clusterEnv, ok bool, err error) {
	path := os.Getenv("AGENTTRACE_CLUSTER_ENV")
	if path == "" {
		return nil, false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, true, err
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, found := strings.Cut(sc.Text(), "=")
		if found {
			kv[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, true, err
	}
	env = &clusterEnv{
		Kubeconfig: kv["KUBECONFIG"], Kubectl: kv["KUBECTL"], Helm: os.Getenv("HELM"),
		NodeIP: kv["NODE_IP"], NodeName: kv["NODE_NAME"], StorageClass: kv["STORAGE_CLASS"],
		ServiceRegistry: kv["SERVICE_IMAGE_REGISTRY"], ServiceTag: kv["SERVICE_IMAGE_TAG"],
		Images: map[string]string{
			"postgres": kv["POSTGRES_IMAGE"], "redis": kv["REDIS_IMAGE"], "nats": kv["NATS_IMAGE"],
			"clickhouse": kv["CLICKHOUSE_IMAGE"], "busybox": kv["BUSYBOX_IMAGE"],
		},
		Logs: kv["LOGS"],
	}
	if env.Helm == "" {
		env.Helm = "helm"
	}
	for name, v := range map[string]string{"KUBECONFIG": env.Kubeconfig, "KUBECTL": env.Kubectl, "NODE_IP": env.NodeIP, "SERVICE_IMAGE_TAG": env.ServiceTag} {
		if v == "" {
			return nil, true, fmt.Errorf("%s: no %s", path, name)
		}
	}
	return env, true, nil
}

// kube runs kubectl and helm against the cluster.
type kube struct {
	env *clusterEnv
}

// run executes a command with the cluster's kubeconfig; the error carries
// the command and its stderr.
func (k *kube) run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+k.env.Kubeconfig)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

func (k *kube) kubectl(ctx context.Context, args ...string) ([]byte, error) {
	return k.run(ctx, nil, k.env.Kubectl, args...)
}

// apply is `kubectl apply -f -` of a manifest.
func (k *kube) apply(ctx context.Context, manifest string) error {
	_, err := k.run(ctx, []byte(manifest), k.env.Kubectl, "apply", "-f", "-")
	return err
}

func (k *kube) helm(ctx context.Context, args ...string) ([]byte, error) {
	return k.run(ctx, nil, k.env.Helm, args...)
}

// get decodes `kubectl get ... -o json` into out.
func (k *kube) get(ctx context.Context, out any, args ...string) error {
	b, err := k.kubectl(ctx, append(append([]string{"get"}, args...), "-o", "json")...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("kubectl get %s: decode: %w", strings.Join(args, " "), err)
	}
	return nil
}

// pods lists the pods of a namespace matching a label selector ("" for all).
func (k *kube) pods(ctx context.Context, ns, selector string) ([]corev1.Pod, error) {
	var list corev1.PodList
	args := []string{"pods", "-n", ns}
	if selector != "" {
		args = append(args, "-l", selector)
	}
	if err := k.get(ctx, &list, args...); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// clusterIP is the ClusterIP of a Service.
func (k *kube) clusterIP(ctx context.Context, ns, svc string) (string, error) {
	var s corev1.Service
	if err := k.get(ctx, &s, "service", "-n", ns, svc); err != nil {
		return "", err
	}
	if s.Spec.ClusterIP == "" || s.Spec.ClusterIP == corev1.ClusterIPNone {
		return "", fmt.Errorf("service %s/%s has no cluster IP", ns, svc)
	}
	return s.Spec.ClusterIP, nil
}

// podReady reports whether the pod's Ready condition is true.
func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// eventually polls check every interval until it returns nil or the timeout
// passes, and returns the last error.
func eventually(ctx context.Context, timeout, interval time.Duration, check func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %s: %w", timeout, err)
		case <-time.After(interval):
		}
	}
}

// dumpNamespace logs what an operator looks at first when a step fails:
// pods, events and the logs of pods that are not ready.
func (k *kube) dumpNamespace(t *testing.T, ns string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := k.kubectl(ctx, "get", "pods,jobs,pvc,svc", "-n", ns, "-o", "wide"); err == nil {
		t.Logf("kubectl get pods,jobs,pvc,svc -n %s:\n%s", ns, out)
	}
	if out, err := k.kubectl(ctx, "get", "events", "-n", ns, "--sort-by=.lastTimestamp"); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		t.Logf("events in %s (last 40):\n%s", ns, strings.Join(lines, "\n"))
	}
	pods, err := k.pods(ctx, ns, "")
	if err != nil {
		return
	}
	for _, p := range pods {
		if podReady(p) || p.Status.Phase == corev1.PodSucceeded {
			continue
		}
		if out, err := k.kubectl(ctx, "logs", "-n", ns, p.Name, "--all-containers", "--tail=30"); err == nil {
			t.Logf("logs of %s (not ready, %s):\n%s", p.Name, p.Status.Phase, out)
		}
	}
}
