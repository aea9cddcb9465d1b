package main

// Check `scaledobject`: the KEDA ScaledObject eventing-kafka-broker generates for a KafkaSource.
//
// Case:   {"id", "kafkaSource": {…a rendered sources.knative.dev/v1 KafkaSource…},
//          "autoscalerConfig": {…data of config-kafka-autoscaler; {} = defaults},
//          "placements": bool (whether the ConsumerGroup is currently placed),
//          "uid"?: the KafkaSource's UID (= ConsumerGroup name; default "kafkasource-uid"),
//          "consumerGroupUid"?: the ConsumerGroup's UID (names the ScaledObject; default "consumergroup-uid"),
//          "features"?: data of config-kafka-features (default {"controller-autoscaler-keda": "enabled"}),
//          "secrets"?: [Secret…] in the source's namespace (what an authenticated source reads)}
// Answer: {"id", "scaledObject": {…} | null (KEDA not enabled for this ConsumerGroup),
//          "consumerGroup": {…the ConsumerGroup the source reconciler created…},
//          "triggerAuthentication"?, "secret"?: the KEDA objects of an authenticated source,
//          the Secret as the API server stores it (stringData folded into data)}
//
// The KafkaSource goes through the webhook's SetDefaults and then the real source reconciler
// (control-plane/pkg/reconciler/source/source.go ReconcileKind) against fake clients; the
// ConsumerGroup it creates is then turned into KEDA objects the way consumergroup.go
// reconcileKedaObjects does (unexported, so its calls are repeated here, commented).

import (
	"context"
	"encoding/json"
	"fmt"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/logging"

	"knative.dev/eventing-kafka-broker/control-plane/pkg/apis/config"
	kafkainternals "knative.dev/eventing-kafka-broker/control-plane/pkg/apis/internalskafkaeventing/v1alpha1"
	sourcesv1 "knative.dev/eventing-kafka-broker/control-plane/pkg/apis/sources/v1"
	"knative.dev/eventing-kafka-broker/control-plane/pkg/autoscaler"
	"knative.dev/eventing-kafka-broker/control-plane/pkg/autoscaler/keda"
	internalsfake "knative.dev/eventing-kafka-broker/control-plane/pkg/client/clientset/versioned/fake"
	internalslisters "knative.dev/eventing-kafka-broker/control-plane/pkg/client/listers/internalskafkaeventing/v1alpha1"
	"knative.dev/eventing-kafka-broker/control-plane/pkg/reconciler/source"
	kedav1alpha1 "knative.dev/eventing-kafka-broker/third_party/pkg/apis/keda/v1alpha1"
	kedafake "knative.dev/eventing-kafka-broker/third_party/pkg/client/clientset/versioned/fake"
	duckv1alpha1 "knative.dev/eventing/pkg/apis/duck/v1alpha1"
)

func init() { register("scaledobject", runScaledObject) }

type soCase struct {
	ID               string            `json:"id"`
	KafkaSource      json.RawMessage   `json:"kafkaSource"`
	AutoscalerConfig map[string]string `json:"autoscalerConfig"`
	Placements       bool              `json:"placements"`
	UID              string            `json:"uid"`
	ConsumerGroupUID string            `json:"consumerGroupUid"`
	Features         map[string]string `json:"features"`
	Secrets          []corev1.Secret   `json:"secrets"`
}

func runScaledObject(raw json.RawMessage) (any, error) {
	var c soCase
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	if c.UID == "" {
		c.UID = "kafkasource-uid"
	}
	if c.ConsumerGroupUID == "" {
		c.ConsumerGroupUID = "consumergroup-uid"
	}
	if c.Features == nil {
		// keda/ of this project turns the flag on (eventing-kafka-controller.yaml ships it disabled).
		c.Features = map[string]string{"controller-autoscaler-keda": "enabled"}
	}
	ks := &sourcesv1.KafkaSource{}
	if err := json.Unmarshal(c.KafkaSource, ks); err != nil {
		return nil, fmt.Errorf("kafkaSource: %w", err)
	}
	ks.UID = types.UID(c.UID)
	ctx := logging.WithLogger(context.Background(), zap.NewNop().Sugar())
	// The object the reconciler sees is the one the defaulting webhook stored
	// (sources/v1/kafka_defaults.go, with the default config-kafka-source-defaults).
	ks.SetDefaults(ctx)

	flags, err := config.NewFeaturesConfigFromMap(&corev1.ConfigMap{Data: c.Features})
	if err != nil {
		return nil, err
	}
	internals := internalsfake.NewSimpleClientset()
	kedaClient := kedafake.NewSimpleClientset()
	indexer := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	kube := kubefake.NewSimpleClientset()
	for i := range c.Secrets {
		if _, err := kube.CoreV1().Secrets(c.Secrets[i].Namespace).Create(ctx, &c.Secrets[i], metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	r := &source.Reconciler{
		KubeClient:           kube,
		ConsumerGroupLister:  internalslisters.NewConsumerGroupLister(indexer()), // empty: the ConsumerGroup is created
		InternalsClient:      internals,
		KedaClient:           kedaClient, // answers List, so keda.IsEnabled sees KEDA installed
		KafkaFeatureFlags:    flags,
		ServiceAccountLister: corelisters.NewServiceAccountLister(indexer()),
	}
	if err := r.ReconcileKind(ctx, ks); err != nil {
		return nil, fmt.Errorf("source reconciler: %w", err)
	}
	cg, err := internals.InternalV1alpha1().ConsumerGroups(ks.Namespace).Get(ctx, c.UID, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	cg.UID = types.UID(c.ConsumerGroupUID) // assigned by the API server
	if c.Placements {
		// Any placement will do: GenerateScaleTriggers only asks whether there are some.
		cg.Status.Placements = []duckv1alpha1.Placement{{PodName: kafkainternals.SourceStatefulSetName + "-0", VReplicas: cg.GetVReplicas()}}
	}

	answer := map[string]any{"id": c.ID, "scaledObject": nil, "consumerGroup": cg}
	// consumergroup.go ReconcileKind: KEDA objects only when keda.IsEnabled for the
	// ConsumerGroup (feature flag on, class annotation absent or keda.autoscaling.knative.dev);
	// otherwise they are deleted.
	if !keda.IsEnabled(ctx, flags, kedaClient, cg) {
		return answer, nil
	}
	// consumergroup.go reconcileKedaObjects, step by step:
	// autoscalerDefaultsFromConfigMap → autoscaler.NewConfigFromMap(cm.Data).
	aconfig, err := autoscaler.NewConfigFromMap(c.AutoscalerConfig)
	if err != nil {
		return nil, err
	}
	// hasSecretSpecConfig || hasNetSpecAuthConfig → retrieveSecretData + GenerateTriggerAuthentication.
	var triggerAuth *kedav1alpha1.TriggerAuthentication
	if a := cg.Spec.Template.Spec.Auth; hasSecretSpecConfig(a) || hasNetSpecAuthConfig(a) {
		data, err := secretDataOf(ctx, kube, cg)
		if err != nil {
			return nil, err
		}
		ta, secret, err := keda.GenerateTriggerAuthentication(cg, data)
		if err != nil {
			return nil, err
		}
		// The API server folds stringData into data on write.
		for k, v := range secret.StringData {
			secret.Data[k] = []byte(v)
		}
		secret.StringData = nil
		triggerAuth = ta
		answer["triggerAuthentication"], answer["secret"] = ta, secret
	}
	triggers, err := keda.GenerateScaleTriggers(cg, triggerAuth, *aconfig)
	if err != nil {
		return nil, err
	}
	so, err := keda.GenerateScaledObject(cg, cg.GetGroupVersionKind(), keda.GenerateScaleTarget(cg), triggers, *aconfig)
	if err != nil {
		return nil, err
	}
	answer["scaledObject"] = so
	return answer, nil
}

// hasSecretSpecConfig, hasNetSpecAuthConfig and secretDataOf are consumergroup/auth.go's
// predicates and consumergroup.go retrieveSecretData (unexported): the whole Secret named by
// net.sasl.type when SASL is on and its type is a secret reference, else the one auth.secret
// names, else nothing.
func hasSecretSpecConfig(a *kafkainternals.Auth) bool {
	return a != nil && a.SecretSpec != nil && a.SecretSpec.Ref != nil && a.SecretSpec.Ref.Name != "" && a.SecretSpec.Ref.Namespace != ""
}

func hasNetSpecAuthConfig(a *kafkainternals.Auth) bool {
	if a == nil || a.NetSpec == nil || !(a.NetSpec.TLS.Enable || a.NetSpec.SASL.Enable) {
		return false
	}
	n := a.NetSpec
	return n.TLS.Cert.SecretKeyRef != nil || n.TLS.CACert.SecretKeyRef != nil || n.TLS.Key.SecretKeyRef != nil ||
		n.SASL.User.SecretKeyRef != nil || n.SASL.Password.SecretKeyRef != nil || n.SASL.RoleARN.SecretKeyRef != nil ||
		n.SASL.TokenProvider.SecretKeyRef != nil || n.SASL.Type.SecretKeyRef != nil
}

func secretDataOf(ctx context.Context, kube *kubefake.Clientset, cg *kafkainternals.ConsumerGroup) (map[string][]byte, error) {
	auth := cg.Spec.Template.Spec.Auth
	var namespace, name string
	switch {
	case hasNetSpecAuthConfig(auth) && auth.NetSpec.SASL.Enable && auth.NetSpec.SASL.Type.SecretKeyRef != nil:
		namespace, name = cg.Namespace, auth.NetSpec.SASL.Type.SecretKeyRef.Name
	case hasSecretSpecConfig(auth):
		namespace, name = auth.SecretSpec.Ref.Namespace, auth.SecretSpec.Ref.Name
	default:
		return nil, nil
	}
	secret, err := kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("unable to get data from secret: \"%s/%s\", %w", namespace, name, err)
	}
	return secret.Data, nil
}
