package chart

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// everyPodValues turns on every workload the chart can render, so that
// checks over all pod templates see each kind: the backup CronJobs (and
// with them the clickhouse-backup sidecar) beside the services' Deployments,
// the stores' StatefulSets, the migrations Job and the helm test Pod.
const everyPodValues = `
backup: {postgres: {enabled: true}}
clickhouse: {backup: {enabled: true, remoteStorage: s3}}
`

// containerImages lists "owner container image" for every container of
// every pod template.
func containerImages(objs []Object) []string {
	var out []string
	for _, p := range PodTemplates(objs) {
		for _, c := range allContainers(p.Spec) {
			out = append(out, fmt.Sprintf("%s %s %s", p.Owner, c.Name, c.Image))
		}
	}
	return out
}

// TestImagesNeedARegistry: AgentTrace publishes no images, so without a
// registry the chart refuses with the way out instead of installing pods
// that never pull.
func TestImagesNeedARegistry(t *testing.T) {
	_, err := renderWith(t, "image: {registry: \"\"}")
	if err == nil {
		t.Fatal("rendered without an image registry")
	}
	for _, want := range []string{"image.registry is not set", "make images", "ko build", "image.local=true"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal does not mention %q:\n%v", want, err)
		}
	}
}

// TestServiceImageRefs: where each service image comes from, for the ways
// of naming it; the migrations Job runs the auth and worker images the
// same way.
func TestServiceImageRefs(t *testing.T) {
	const tag = "0.1.0" // the chart's appVersion
	tests := []struct {
		name   string
		values string
		want   func(svc string) string
	}{
		{"image.registry", "image: {registry: registry.example.com/at/, tag: \"\"}",
			func(svc string) string { return "registry.example.com/at/agenttrace-" + svc + ":" + tag }},
		{"image.local: bare names", "image: {registry: \"\", local: true}",
			func(svc string) string { return "agenttrace-" + svc + ":" + tag }},
		{"global.imageRegistry when image.registry is empty", "image: {registry: \"\"}\nglobal: {imageRegistry: mirror.example.com}",
			func(svc string) string { return "mirror.example.com/agenttrace-" + svc + ":" + tag }},
		{"image.registry before global.imageRegistry", "global: {imageRegistry: mirror.example.com}",
			func(svc string) string { return TestRegistry + "/agenttrace-" + svc + ":" + tag }},
		{"a repository with a slash is complete; tags per service", "gateway: {image: {repository: ghcr.io/me/agenttrace-gateway, tag: dev}}\nimage: {tag: \"1.2\"}",
			func(svc string) string {
				if svc == "gateway" {
					return "ghcr.io/me/agenttrace-gateway:dev"
				}
				return TestRegistry + "/agenttrace-" + svc + ":1.2"
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := mustRender(t, Input{Values: yamlValues(t, tt.values)})
			deps := serviceDeployments(objs)
			for _, svc := range Services {
				d := deps[svc]
				if d == nil {
					t.Errorf("%s: no Deployment", svc)
					continue
				}
				if got := mainContainer(t, svc, d.Spec.Template.Spec).Image; got != tt.want(svc) {
					t.Errorf("%s runs %s, want %s", svc, got, tt.want(svc))
				}
			}
			job := migrationsJob(t, objs)
			for _, c := range job.Spec.Template.Spec.Containers {
				svc := imageService(c.Image)
				if (svc != "auth" && svc != "worker") || c.Image != tt.want(svc) {
					t.Errorf("migrations container %s runs %s, want the auth or worker image as the Deployments name it", c.Name, c.Image)
				}
			}
		})
	}
}

// TestGlobalImageRegistry: global.imageRegistry is in front of every image
// of the release: services, stores and their sidecars, backup jobs and the
// helm test pod.
func TestGlobalImageRegistry(t *testing.T) {
	objs := mustRender(t, Input{Values: yamlValues(t, everyPodValues+"image: {registry: \"\"}\nglobal: {imageRegistry: mirror.example.com/}")})
	images := containerImages(objs)
	if len(images) == 0 {
		t.Fatal("no containers")
	}
	for _, img := range images {
		ref := img[strings.LastIndex(img, " ")+1:]
		if !strings.HasPrefix(ref, "mirror.example.com/") || strings.HasPrefix(ref, "mirror.example.com//") {
			t.Errorf("%s is not behind global.imageRegistry", img)
		}
	}
}

// TestGlobalImagePullSecrets: global.imagePullSecrets reaches every pod
// template of every kind the chart renders.
func TestGlobalImagePullSecrets(t *testing.T) {
	objs := mustRender(t, Input{Values: yamlValues(t, everyPodValues+"global: {imagePullSecrets: [{name: regcred}, {name: mirror}]}")})
	want := []corev1.LocalObjectReference{{Name: "regcred"}, {Name: "mirror"}}
	kinds := map[string]bool{}
	for _, p := range PodTemplates(objs) {
		kind, _, _ := strings.Cut(p.Owner, "/") // Owner is "Kind/name"
		kinds[kind] = true
		if !slices.Equal(p.Spec.ImagePullSecrets, want) {
			t.Errorf("%s imagePullSecrets %v, want %v", p.Owner, p.Spec.ImagePullSecrets, want)
		}
	}
	for _, k := range []string{"Deployment", "StatefulSet", "Job", "CronJob", "Pod"} {
		if !kinds[k] {
			t.Errorf("no %s rendered: the check did not cover that kind", k)
		}
	}
	// And none by default.
	for _, p := range PodTemplates(defaultScenario(t).objs) {
		if len(p.Spec.ImagePullSecrets) > 0 {
			t.Errorf("%s has imagePullSecrets %v without global.imagePullSecrets", p.Owner, p.Spec.ImagePullSecrets)
		}
	}
}
