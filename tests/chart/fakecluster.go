package chart

import (
	"fmt"

	"helm.sh/helm/v3/pkg/engine"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/fake"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// clusterScoped are the kinds lookup may ask for that live outside any
// namespace; every other kind is namespaced.
var clusterScoped = map[string]bool{
	"Namespace": true, "Node": true, "PersistentVolume": true, "StorageClass": true,
	"ClusterRole": true, "ClusterRoleBinding": true, "CustomResourceDefinition": true,
	"PriorityClass": true, "IngressClass": true,
}

// fakeClientProvider answers the chart's lookup calls from a fixed set of
// objects, as Helm's own engine tests do (engine_test.go, testClientProvider).
type fakeClientProvider struct {
	client dynamic.Interface
}

var _ engine.ClientProvider = fakeClientProvider{}

func newFakeClientProvider(objs []runtime.Object) (fakeClientProvider, error) {
	var us []runtime.Object
	for _, o := range objs {
		u, err := toUnstructured(o)
		if err != nil {
			return fakeClientProvider{}, err
		}
		us = append(us, u)
	}
	return fakeClientProvider{client: fake.NewSimpleDynamicClient(runtime.NewScheme(), us...)}, nil
}

func (p fakeClientProvider) GetClientFor(apiVersion, kind string) (dynamic.NamespaceableResourceInterface, bool, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, false, err
	}
	gvr, _ := meta.UnsafeGuessKindToResource(gv.WithKind(kind))
	return p.client.Resource(gvr), !clusterScoped[kind], nil
}

// toUnstructured converts a typed client-go object, its apiVersion and kind
// filled in from client-go's scheme.
func toUnstructured(o runtime.Object) (*unstructured.Unstructured, error) {
	if u, ok := o.(*unstructured.Unstructured); ok {
		return u, nil
	}
	gvks, _, err := clientgoscheme.Scheme.ObjectKinds(o)
	if err != nil {
		return nil, fmt.Errorf("fake cluster: %T is not a client-go type: %w", o, err)
	}
	if len(gvks) == 0 {
		return nil, fmt.Errorf("fake cluster: %T is not a client-go type", o)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, fmt.Errorf("fake cluster: %T: %w", o, err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvks[0])
	return u, nil
}
