package main

// Check `scaledobject`: the KEDA ScaledObject eventing-kafka-broker generates for a KafkaSource.
//
// Case:   {"id", "kafkaSource": {…a rendered sources.knative.dev/v1 KafkaSource…},
//          "autoscalerConfig": {…data of config-kafka-autoscaler; {} = defaults},
//          "placements": bool (whether the ConsumerGroup is currently placed),
//          "uid"?: the KafkaSource's UID (= ConsumerGroup name; default "kafkasource-uid"),
//          "consumerGroupUid"?: the ConsumerGroup's UID (names the ScaledObject; default "consumergroup-uid"),
//          "features"?: data of config-kafka-features (default {"controller-autoscaler-keda": "enabled"})}
// Answer: {"id", "scaledObject": {…} | null (KEDA not enabled for this ConsumerGroup),
//          "consumerGroup": {…the ConsumerGroup the source reconciler created…}}
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
	r := &source.Reconciler{
		KubeClient:           kubefake.NewSimpleClientset(),
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
	// hasSecretSpecConfig || hasNetSpecAuthConfig → retrieveSecretData + GenerateTriggerAuthentication;
	// the secret is not part of a case, so authenticated sources are refused.
	if a := cg.Spec.Template.Spec.Auth; a != nil && (a.SecretSpec != nil && a.SecretSpec.Ref != nil ||
		a.NetSpec != nil && (a.NetSpec.SASL.Enable || a.NetSpec.TLS.Enable)) {
		return nil, fmt.Errorf("KafkaSources with SASL/TLS auth need their secret (TriggerAuthentication); not supported")
	}
	triggers, err := keda.GenerateScaleTriggers(cg, nil, *aconfig)
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
