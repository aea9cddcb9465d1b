package main

// A kafka-scaler case with "authentication": the trigger's authenticationRef resolved into the
// scaler's auth params by KEDA's own resolver (pkg/scaling/resolver ResolveAuthRefAndPodIdentity,
// as buildScalers calls it), reading the TriggerAuthentication and Secrets of the case from a
// fake API client instead of a cluster.
//
//   "authentication": {"namespace", "ref": {"name", "kind"?}, "objects": [TriggerAuthentication, Secret…]}

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/kedacore/keda/v2/pkg/scalers/authentication"
	"github.com/kedacore/keda/v2/pkg/scaling/resolver"
)

type authCase struct {
	Namespace string                          `json:"namespace"`
	Ref       kedav1alpha1.AuthenticationRef `json:"ref"`
	Objects   []json.RawMessage               `json:"objects"`
}

func resolveAuthParams(ctx context.Context, a *authCase) (map[string]string, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := kedav1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	objects := make([]client.Object, 0, len(a.Objects))
	for _, raw := range a.Objects {
		var meta struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, err
		}
		var obj client.Object
		switch meta.Kind {
		case "Secret":
			obj = &corev1.Secret{}
		case "TriggerAuthentication":
			obj = &kedav1alpha1.TriggerAuthentication{}
		default:
			return nil, fmt.Errorf("authentication objects: unexpected kind %q", meta.Kind)
		}
		if err := json.Unmarshal(raw, obj); err != nil {
			return nil, fmt.Errorf("%s: %w", meta.Kind, err)
		}
		objects = append(objects, obj)
	}
	kube := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objects...).Build()
	// A ScaledObject's scale target always has a pod template for the resolver; env-based
	// auth is not part of a case, so an empty one does.
	params, _, err := resolver.ResolveAuthRefAndPodIdentity(ctx, kube, logr.Discard(), &a.Ref, &corev1.PodTemplateSpec{}, a.Namespace, &authentication.AuthClientSet{})
	return params, err
}
