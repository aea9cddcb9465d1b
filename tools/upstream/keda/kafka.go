package main

// kafka-scaler: KEDA's `kafka` trigger (pkg/scalers/kafka_scaler.go), built the way the operator
// builds it for a ScaledObject and asked for its metric and activity against a real broker.
//
//   case:   {"id", "metadata": {<trigger metadata>}, "calls"?: n (default 1), "authentication"?: (auth.go)}
//   answer: {"id", "metricName", "targetMilli", "metricMilli", "active", "events"?}
//
// targetMilli is the HPA target (the AverageValue the trigger asks for: lagThreshold) and
// metricMilli the value GetMetricsAndActivity returns, both in milli-units (resource.Quantity
// MilliValue). With "calls" > 1 the same scaler is asked n times in a row and metricMilli and
// active are arrays, one entry per call (excludePersistentLag compares against the previous
// call). "events" lists the events the scaler records on the ScaledObject while parsing its
// metadata: deprecation notices, and "Unmatched input property …" for a metadata key the scaler
// does not know, though only with KEDA_CHECK_UNEXPECTED_SCALERS_PARAMS=enabled in the
// environment, as in the operator, where it is off by default
// (pkg/scalers/scalersconfig/typed_config.go).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"k8s.io/client-go/tools/events"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/kedacore/keda/v2/pkg/scalers"
	"github.com/kedacore/keda/v2/pkg/scalers/scalersconfig"
)

func init() { registerParallel("kafka-scaler", kafkaScaler) }

// The operator's default for KEDA_HTTP_DEFAULT_TIMEOUT (cmd/operator/main.go); the kafka scaler
// does not use it (sarama has its own timeouts) but the operator always fills it in.
const globalHTTPTimeout = 3000 * time.Millisecond

type kafkaCase struct {
	ID       string            `json:"id"`
	Metadata map[string]string `json:"metadata"`
	Calls    int               `json:"calls"`
	Auth     *authCase         `json:"authentication"`
}

type kafkaAnswer struct {
	ID          string   `json:"id"`
	MetricName  string   `json:"metricName"`
	TargetMilli int64    `json:"targetMilli"`
	MetricMilli any      `json:"metricMilli"` // int64, or []int64 when calls > 1
	Active      any      `json:"active"`      // bool, or []bool when calls > 1
	Events      []string `json:"events,omitempty"`
}

func kafkaScaler(raw json.RawMessage) (any, error) {
	var c kafkaCase
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	if c.Calls < 0 {
		return nil, fmt.Errorf("calls must be >= 1, got %d", c.Calls)
	}
	calls := max(c.Calls, 1)

	const name, triggerIndex = "upstream-check", 0
	namespace := "default"
	ctx := context.Background()
	authParams := map[string]string{}
	if c.Auth != nil {
		namespace = c.Auth.Namespace
		var err error
		if authParams, err = resolveAuthParams(ctx, c.Auth); err != nil {
			return nil, fmt.Errorf("resolving the authenticationRef: %w", err)
		}
	}
	so := &kedav1alpha1.ScaledObject{}
	so.Name, so.Namespace, so.Kind = name, namespace, "ScaledObject"
	// One event per metadata key at most (unmatched properties), plus room for notices.
	recorder := events.NewFakeRecorder(len(c.Metadata) + 16)
	// What pkg/scaling/scalers_builder.go (buildScalers) fills in for trigger 0 of a ScaledObject
	// with no *FromEnv keys: resolved env stays empty, the auth params are the resolved
	// authenticationRef (empty without one), the pod identity is "none" (resolveAuthRef in pkg/scaling/resolver/scale_resolvers.go), and
	// the trigger's metricType is passed as is: unset, which GetMetricTargetType
	// (pkg/scalers/scaler.go) turns into AverageValue.
	config := &scalersconfig.ScalerConfig{
		ScalableObjectName:      name,
		ScalableObjectNamespace: namespace,
		ScalableObjectType:      "ScaledObject",
		TriggerMetadata:         c.Metadata,
		TriggerType:             "kafka",
		ResolvedEnv:             map[string]string{},
		AuthParams:              authParams,
		PodIdentity:             kedav1alpha1.AuthPodIdentity{Provider: kedav1alpha1.PodIdentityProviderNone},
		GlobalHTTPTimeout:       globalHTTPTimeout,
		TriggerIndex:            triggerIndex,
		MetricType:              "",
		ScaledObject:            so,
		Recorder:                recorder,
		TriggerUniqueKey:        fmt.Sprintf("ScaledObject-%s-%s-%d", namespace, name, triggerIndex),
	}

	// buildScaler (pkg/scaling/scalers_builder.go) maps trigger type "kafka" to NewKafkaScaler.
	scaler, err := scalers.NewKafkaScaler(ctx, config)
	if err != nil {
		return nil, err
	}
	answer, err := askKafkaScaler(ctx, scaler, calls)
	if closeErr := scaler.Close(ctx); err == nil && closeErr != nil {
		err = fmt.Errorf("closing the scaler: %w", closeErr)
	}
	if err != nil {
		return nil, err
	}
	answer.ID = c.ID
	for len(recorder.Events) > 0 {
		answer.Events = append(answer.Events, <-recorder.Events)
	}
	return answer, nil
}

// askKafkaScaler does what the operator does with a built scaler: GetMetricSpecForScaling gives
// the HPA's external metric (name and target), then GetMetricsAndActivity is called with that
// name (pkg/scaling/scale_handler.go getScaledObjectState → pkg/scaling/cache/scalers_cache.go).
// Unlike the operator's cache, a failed call is not retried on a freshly built scaler.
func askKafkaScaler(ctx context.Context, scaler scalers.Scaler, calls int) (*kafkaAnswer, error) {
	specs := scaler.GetMetricSpecForScaling(ctx)
	if len(specs) != 1 || specs[0].External == nil || specs[0].External.Target.AverageValue == nil {
		return nil, errors.New("expected one external metric with an AverageValue target")
	}
	answer := &kafkaAnswer{
		MetricName:  specs[0].External.Metric.Name,
		TargetMilli: specs[0].External.Target.AverageValue.MilliValue(),
	}
	metrics := make([]int64, 0, calls)
	active := make([]bool, 0, calls)
	for range calls {
		values, isActive, err := scaler.GetMetricsAndActivity(ctx, answer.MetricName)
		if err != nil {
			return nil, err
		}
		if len(values) != 1 {
			return nil, fmt.Errorf("expected one metric value, got %d", len(values))
		}
		metrics = append(metrics, values[0].Value.MilliValue())
		active = append(active, isActive)
	}
	if calls == 1 {
		answer.MetricMilli, answer.Active = metrics[0], active[0]
	} else {
		answer.MetricMilli, answer.Active = metrics, active
	}
	return answer, nil
}
