package chart

import (
	"regexp"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// migrationsJobName is "<fullname>-migrations-" and 10 hex digits of a
// hash of its pod template.
var migrationsJobName = regexp.MustCompile(`^` + ReleaseName + `-migrations-[0-9a-f]{10}$`)

// migrationsJob returns the release's one migrations Job.
func migrationsJob(t *testing.T, objs []Object) *batchv1.Job {
	t.Helper()
	var jobs []*batchv1.Job
	for _, j := range All[*batchv1.Job](objs) {
		if strings.HasPrefix(j.Name, ReleaseName+"-migrations") {
			jobs = append(jobs, j)
		}
	}
	if len(jobs) != 1 {
		t.Fatalf("%d migrations Jobs, want 1", len(jobs))
	}
	return jobs[0]
}

// TestMigrationsJob: the migrations are an ordinary Job created with the
// release (a post-install hook would wait for services that are not ready
// before their schema exists), its NetworkPolicy too, and each `migrate
// up` waits migrations.waitTimeout for its store.
func TestMigrationsJob(t *testing.T) {
	s := defaultScenario(t)
	job := migrationsJob(t, s.objs)
	if !migrationsJobName.MatchString(job.Name) {
		t.Errorf("Job name %s, want %s", job.Name, migrationsJobName)
	}
	for _, o := range s.objs {
		isJob := o.Obj == job
		np, isNP := o.Obj.(*networkingv1.NetworkPolicy)
		if !isJob && !(isNP && np.Name == ReleaseName+"-migrations") {
			continue
		}
		if o.Hook {
			t.Errorf("%s %s is a Helm hook (%v), want an ordinary resource", o.Kind, o.Name, o.HookEvents)
		}
	}
	for k := range job.Annotations {
		if strings.HasPrefix(k, "helm.sh/hook") {
			t.Errorf("Job has annotation %s", k)
		}
	}
	if job.Spec.TTLSecondsAfterFinished != nil {
		t.Errorf("ttlSecondsAfterFinished %d: a GitOps tool would see the Job gone and run it again", *job.Spec.TTLSecondsAfterFinished)
	}
	containers := map[string]string{}
	for _, c := range job.Spec.Template.Spec.Containers {
		containers[c.Name] = imageService(c.Image)
		if strings.Join(c.Args, " ") != "migrate up" {
			t.Errorf("container %s args %v, want migrate up", c.Name, c.Args)
		}
		wait := ""
		for _, e := range c.Env {
			if e.Name == "AGENTTRACE_MIGRATE_WAIT" {
				wait = e.Value
			}
		}
		if wait != s.str("migrations.waitTimeout") || wait != "10m" {
			t.Errorf("container %s AGENTTRACE_MIGRATE_WAIT %q, want migrations.waitTimeout (10m)", c.Name, wait)
		}
	}
	if containers["postgres"] != "auth" || containers["clickhouse"] != "worker" {
		t.Errorf("migrations containers %v, want postgres by auth and clickhouse by worker", containers)
	}
}

// TestMigrationsJobName: the Job's name follows its pod template: new
// images or a setting the migrations read make a new Job (a Job's template
// cannot change), anything else keeps the completed one.
func TestMigrationsJobName(t *testing.T) {
	name := func(values string) string {
		t.Helper()
		return migrationsJob(t, mustRender(t, Input{Values: yamlValues(t, values)})).Name
	}
	base := name("{}")
	if again := name("{}"); again != base {
		t.Fatalf("the same values name the Job %s, then %s (the generated passwords must not reach its name)", base, again)
	}
	for _, tt := range []struct {
		what    string
		values  string
		changes bool
	}{
		{"image.tag", "image: {tag: 0.2.0}", true},
		{"auth's image tag", "auth: {image: {tag: 0.2.0}}", true},
		{"a PostgreSQL setting auth's migrate reads", "config: {postgres: {connectTimeout: 9s}}", true},
		{"the ClickHouse database", "clickhouse: {database: traces}", true},
		{"migrations.waitTimeout", "migrations: {waitTimeout: 20m}", true},
		{"gateway.replicas", "gateway: {autoscaling: {enabled: false}, replicas: 5}", false},
		{"a gateway setting", "config: {gateway: {requestTimeout: 40s}}", false},
		{"query's resources", "query: {resources: {limits: {cpu: 2000m}}}", false},
	} {
		got := name(tt.values)
		if changed := got != base; changed != tt.changes {
			t.Errorf("%s (%s): Job %s, before %s; want a new name: %v", tt.what, tt.values, got, base, tt.changes)
		}
	}
}
