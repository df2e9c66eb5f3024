package chart

import (
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// Object is a decoded manifest.
type Object struct {
	Manifest
	// Obj is the typed object: a client-go or monitoring/v1 pointer type, or
	// *ExternalSecret.
	Obj  any
	Kind string
	Name string
}

// ExternalSecret is the part of external-secrets.io/v1 ExternalSecret the
// chart uses. Its module is not a dependency (it pins other Kubernetes
// versions), so this local type stands in; decoding is strict, so a field
// the chart sets that is not listed here fails the test and must be added
// here after checking it against the external-secrets API reference.
type ExternalSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ExternalSecretSpec `json:"spec"`
}

// ExternalSecretSpec is ExternalSecret.spec.
type ExternalSecretSpec struct {
	RefreshInterval string `json:"refreshInterval,omitempty"`
	SecretStoreRef  struct {
		Name string `json:"name"`
		Kind string `json:"kind,omitempty"`
	} `json:"secretStoreRef"`
	Target struct {
		Name           string `json:"name,omitempty"`
		CreationPolicy string `json:"creationPolicy,omitempty"`
		DeletionPolicy string `json:"deletionPolicy,omitempty"`
		Template       *struct {
			Type     string `json:"type,omitempty"`
			Metadata *struct {
				Annotations map[string]string `json:"annotations,omitempty"`
				Labels      map[string]string `json:"labels,omitempty"`
			} `json:"metadata,omitempty"`
		} `json:"template,omitempty"`
	} `json:"target"`
	Data []ExternalSecretData `json:"data"`
}

// ExternalSecretData maps one key of the target Secret to a remote key.
type ExternalSecretData struct {
	SecretKey string `json:"secretKey"`
	RemoteRef struct {
		Key                string `json:"key"`
		Property           string `json:"property,omitempty"`
		Version            string `json:"version,omitempty"`
		ConversionStrategy string `json:"conversionStrategy,omitempty"`
		DecodingStrategy   string `json:"decodingStrategy,omitempty"`
	} `json:"remoteRef"`
}

// decoder decodes client-go and prometheus-operator objects strictly:
// unknown and duplicate fields are errors.
var decoder = func() runtime.Decoder {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := monitoringv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return serializer.NewCodecFactory(s, serializer.EnableStrict).UniversalDeserializer()
}()

// Decode decodes every manifest into its typed struct.
func Decode(ms []Manifest) ([]Object, error) {
	out := make([]Object, 0, len(ms))
	for _, m := range ms {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(m.YAML), &tm); err != nil {
			return nil, fmt.Errorf("%s: %w", m.Source, err)
		}
		var obj any
		var name string
		if tm.APIVersion == "external-secrets.io/v1" && tm.Kind == "ExternalSecret" {
			es := &ExternalSecret{}
			if err := yaml.UnmarshalStrict([]byte(m.YAML), es); err != nil {
				return nil, fmt.Errorf("%s: ExternalSecret: %w", m.Source, err)
			}
			obj, name = es, es.Name
		} else {
			o, _, err := decoder.Decode([]byte(m.YAML), nil, nil)
			if err != nil {
				return nil, fmt.Errorf("%s: %s %s: %w", m.Source, tm.APIVersion, tm.Kind, err)
			}
			acc, err := metaOf(o)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", m.Source, err)
			}
			obj, name = o, acc.GetName()
		}
		out = append(out, Object{Manifest: m, Obj: obj, Kind: tm.Kind, Name: name})
	}
	return out, nil
}

func metaOf(o runtime.Object) (metav1.Object, error) {
	acc, ok := o.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", o)
	}
	return acc, nil
}

// All returns the objects of type T.
func All[T any](objs []Object) []T {
	var out []T
	for _, o := range objs {
		if t, ok := o.Obj.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// PodTemplate is a pod spec found in a workload.
type PodTemplate struct {
	// Owner is "Kind/name" of the workload.
	Owner string
	Meta  metav1.ObjectMeta
	Spec  corev1.PodSpec
}

// PodTemplates returns the pod templates of every workload and the bare pods.
func PodTemplates(objs []Object) []PodTemplate {
	var out []PodTemplate
	for _, o := range objs {
		owner := o.Kind + "/" + o.Name
		switch w := o.Obj.(type) {
		case *appsv1.Deployment:
			out = append(out, PodTemplate{owner, w.Spec.Template.ObjectMeta, w.Spec.Template.Spec})
		case *appsv1.StatefulSet:
			out = append(out, PodTemplate{owner, w.Spec.Template.ObjectMeta, w.Spec.Template.Spec})
		case *appsv1.DaemonSet:
			out = append(out, PodTemplate{owner, w.Spec.Template.ObjectMeta, w.Spec.Template.Spec})
		case *batchv1.Job:
			out = append(out, PodTemplate{owner, w.Spec.Template.ObjectMeta, w.Spec.Template.Spec})
		case *batchv1.CronJob:
			out = append(out, PodTemplate{owner, w.Spec.JobTemplate.Spec.Template.ObjectMeta, w.Spec.JobTemplate.Spec.Template.Spec})
		case *corev1.Pod:
			out = append(out, PodTemplate{owner, w.ObjectMeta, w.Spec})
		}
	}
	return out
}
