package main

// The upstream packages the checks drive; listed here so `go mod tidy` keeps them before
// every check file exists.
import (
	_ "knative.dev/eventing-kafka-broker/control-plane/pkg/apis/eventing/v1alpha1"
	_ "knative.dev/eventing-kafka-broker/control-plane/pkg/apis/sources/v1"
	_ "knative.dev/eventing-kafka-broker/control-plane/pkg/autoscaler/keda"
	_ "knative.dev/eventing/pkg/apis/sources/v1"
	_ "knative.dev/eventing/pkg/scheduler/statefulset"
	_ "knative.dev/serving/pkg/apis/serving/v1"
	_ "knative.dev/serving/pkg/autoscaler/scaling"
)
