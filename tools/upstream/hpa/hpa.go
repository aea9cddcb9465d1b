package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-logr/logr"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	scalefake "k8s.io/client-go/scale/fake"
	core "k8s.io/client-go/testing"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	"k8s.io/kubernetes/pkg/apis/autoscaling"
	_ "k8s.io/kubernetes/pkg/apis/autoscaling/install" // HPA defaulting + conversion in legacyscheme
	"k8s.io/kubernetes/pkg/controller/podautoscaler"
	"k8s.io/kubernetes/pkg/controller/podautoscaler/metrics"
	hpastrategy "k8s.io/kubernetes/pkg/registry/autoscaling/horizontalpodautoscaler"
	emapi "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	emfake "k8s.io/metrics/pkg/client/external_metrics/fake"
)

// A case: one HPA as KEDA generates it for a Kafka trigger, and the metric KEDA reports at
// each sample time. Fields left out take the API server's defaults (minReplicas 1) and
// kube-controller-manager's (tolerance 0.1, downscale stabilization 300 s, sync period 15 s).
// The first sample is the HPA's first sync; the others must lie on its sync grid. Samples may
// skip grid points: the controller still syncs there, seeing the previous sample's metric.
type hpaCase struct {
	ID                      string                                         `json:"id"`
	MinReplicas             *int32                                         `json:"minReplicas"`
	MaxReplicas             int32                                          `json:"maxReplicas"`
	TargetAverageValueMilli int64                                          `json:"targetAverageValueMilli"`
	InitialReplicas         int32                                          `json:"initialReplicas"`
	Tolerance               *float64                                       `json:"tolerance"`
	DownscaleStabilizationS *int64                                         `json:"downscaleStabilizationS"`
	SyncPeriodS             *int64                                         `json:"syncPeriodS"`
	Behavior                *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior"`
	Samples                 []sample                                       `json:"samples"`
}

type sample struct {
	AtMs        int64  `json:"atMs"`
	MetricMilli int64  `json:"metricMilli"`
	SetReplicas *int32 `json:"setReplicas"` // KEDA's own 0↔1 write, applied just before the sync
}

type answer struct {
	ID       string   `json:"id"`
	Replicas []int32  `json:"replicas"` // the scale's spec.replicas after the sync at each sample
	Reasons  []string `json:"reasons"`  // the HPA's status conditions after it, "Type=Reason …"
}

const (
	namespace  = "default"
	hpaName    = "keda-hpa-kafka-source"
	targetName = "kafka-source-consumer-group"
	metricName = "s0-kafka-topic"
	// The state of a sample is written this long before its sync (which reads it), and the
	// result is read this long after.
	settle = time.Millisecond
)

// The scale target: Knative's ConsumerGroup through its scale subresource.
var consumerGroup = schema.GroupVersionKind{Group: "internal.kafka.eventing.knative.dev", Version: "v1alpha1", Kind: "ConsumerGroup"}

// Errors the controller reports through utilruntime.HandleError since the last sample.
var handled struct {
	sync.Mutex
	errs []string
}

func init() {
	// The controller logs every rescale at V(0); its conditions are in the answers instead.
	klog.SetLogger(logr.Discard())
	// HandleError's default handlers log (discarded) and rate-limit with a backoff that compares
	// the fake clock (year 2000) with the real time it was created at, and so sleeps for decades
	// (apimachinery util/runtime backoffError): collect the errors for the answers instead.
	utilruntime.ErrorHandlers = []utilruntime.ErrorHandler{func(_ context.Context, err error, _ string, _ ...any) {
		handled.Lock()
		defer handled.Unlock()
		handled.errs = append(handled.errs, err.Error())
	}}
}

// takeErrors returns and forgets the errors the controller has reported.
func takeErrors() []string {
	handled.Lock()
	defer handled.Unlock()
	errs := handled.errs
	handled.errs = nil
	return errs
}

func simulate(t *testing.T, raw []byte) (any, error) {
	var c hpaCase
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("bad case: %v", err)
	}
	tolerance, window, period := 0.1, 300*time.Second, 15*time.Second
	if c.Tolerance != nil {
		tolerance = *c.Tolerance
	}
	if c.DownscaleStabilizationS != nil {
		window = time.Duration(*c.DownscaleStabilizationS) * time.Second
	}
	if c.SyncPeriodS != nil {
		period = time.Duration(*c.SyncPeriodS) * time.Second
	}
	if period <= 0 {
		return nil, errors.New("syncPeriodS must be positive")
	}
	if len(c.Samples) == 0 {
		return nil, errors.New("no samples")
	}
	// The controller syncs an HPA every sync period (the work queue re-adds it with that delay,
	// horizontal.go processNextWorkItem and rate_limiters.go), so it can only be observed on
	// that grid; a sample between two syncs would not be the controller's behaviour.
	for i, s := range c.Samples {
		offset := time.Duration(s.AtMs-c.Samples[0].AtMs) * time.Millisecond
		if offset%period != 0 || (i > 0 && s.AtMs <= c.Samples[i-1].AtMs) {
			return nil, fmt.Errorf("sample %d at %d ms: samples must be increasing and a whole number of sync periods (%v) after the first", i, s.AtMs, period)
		}
	}
	hpa, err := admit(&c)
	if err != nil {
		return nil, err
	}
	ans := answer{ID: c.ID}
	synctest.Test(t, func(t *testing.T) {
		ans.Replicas, ans.Reasons, err = drive(&c, hpa, period, window, tolerance)
	})
	if err != nil {
		return nil, err
	}
	return ans, nil
}

// admit builds the HPA KEDA would create and passes it through what the API server does on
// create: v2 defaulting (pkg/apis/autoscaling/v2/defaults.go, e.g. behavior's default policies),
// then the registry strategy's PrepareForCreate (drops fields of disabled feature gates) and
// Validate (pkg/apis/autoscaling/validation).
func admit(c *hpaCase) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: hpaName, Namespace: namespace},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{
				APIVersion: consumerGroup.GroupVersion().String(), Kind: consumerGroup.Kind, Name: targetName,
			},
			MinReplicas: c.MinReplicas,
			MaxReplicas: c.MaxReplicas,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ExternalMetricSourceType,
				External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{
						Name:     metricName,
						Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"scaledobject.keda.sh/name": "kafka-source"}},
					},
					Target: autoscalingv2.MetricTarget{
						Type:         autoscalingv2.AverageValueMetricType,
						AverageValue: resource.NewMilliQuantity(c.TargetAverageValueMilli, resource.DecimalSI),
					},
				},
			}},
			Behavior: c.Behavior,
		},
	}
	legacyscheme.Scheme.Default(hpa)
	internal := &autoscaling.HorizontalPodAutoscaler{}
	if err := legacyscheme.Scheme.Convert(hpa, internal, nil); err != nil {
		return nil, err
	}
	ctx := context.Background()
	hpastrategy.Strategy.PrepareForCreate(ctx, internal)
	if errs := hpastrategy.Strategy.Validate(ctx, internal); len(errs) > 0 {
		return nil, fmt.Errorf("the API server would reject this HPA: %v", errs.ToAggregate())
	}
	out := &autoscalingv2.HorizontalPodAutoscaler{}
	if err := legacyscheme.Scheme.Convert(internal, out, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// target is the scale subresource of the ConsumerGroup and the metric KEDA serves, as the
// fake clients the controller talks to see them.
type target struct {
	sync.Mutex
	replicas int32     // spec.replicas; status.replicas is always the same (consumers ready at once)
	metric   int64     // milli-value of the external metric
	lastGet  time.Time // when the controller last read the scale, i.e. its last sync
}

func (s *target) scale() *autoscalingv1.Scale {
	return &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: targetName, Namespace: namespace},
		Spec:       autoscalingv1.ScaleSpec{Replicas: s.replicas},
		// The HPA requires a selector (horizontal.go validateAndParseSelector); no pod matches.
		Status: autoscalingv1.ScaleStatus{Replicas: s.replicas, Selector: "app=" + targetName},
	}
}

// drive runs inside a synctest bubble: the whole controller (NewHorizontalController + Run,
// as kube-controller-manager starts it) against fake clients, with the clock moved from
// sample to sample.
func drive(c *hpaCase, hpa *autoscalingv2.HorizontalPodAutoscaler, period, window time.Duration, tolerance float64) (replicas []int32, reasons []string, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	state := &target{replicas: c.InitialReplicas}
	takeErrors() // a failed case may have left some

	// Scale subresource, as horizontal_test.go fakes it.
	plural, _ := meta.UnsafeGuessKindToResource(consumerGroup)
	resourceName := plural.Resource
	scales := &scalefake.FakeScaleClient{}
	scales.AddReactor("get", resourceName, func(core.Action) (bool, runtime.Object, error) {
		state.Lock()
		defer state.Unlock()
		state.lastGet = time.Now()
		return true, state.scale(), nil
	})
	scales.AddReactor("update", resourceName, func(a core.Action) (bool, runtime.Object, error) {
		state.Lock()
		defer state.Unlock()
		state.replicas = a.(core.UpdateAction).GetObject().(*autoscalingv1.Scale).Spec.Replicas
		return true, state.scale(), nil
	})
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{consumerGroup.GroupVersion()})
	mapper.Add(consumerGroup, meta.RESTScopeNamespace)

	// The external metrics API (KEDA's metrics server) serves one value for the metric; the
	// controller reads it through its own metrics client (metrics/client.go GetExternalMetric).
	external := &emfake.FakeExternalMetricsClient{}
	external.AddReactor("list", metricName, func(core.Action) (bool, runtime.Object, error) {
		state.Lock()
		defer state.Unlock()
		return true, &emapi.ExternalMetricValueList{Items: []emapi.ExternalMetricValue{{
			MetricName: metricName,
			Timestamp:  metav1.Now(),
			Value:      *resource.NewMilliQuantity(state.metric, resource.DecimalSI),
		}}}, nil
	})
	// Resource and custom metrics are never asked for by an HPA with one External metric.
	metricsClient := metrics.NewRESTMetricsClient(nil, nil, external)

	// NewSimpleClientset, not NewClientset: the latter's field-managed tracker builds a
	// RESTMapper of the whole scheme on every write, two thirds of the run time.
	client := fake.NewSimpleClientset() //nolint:staticcheck // see above
	// kube-controller-manager's informers resync every 12-24 h (--min-resync-period); the HPA
	// handler asks for its own resync every sync period. (A zero period would also block on a
	// channel made outside the bubble, reflector.go resyncChan, so the fake clock never moves.)
	factory := informers.NewSharedInformerFactory(client, 12*time.Hour)
	controller := podautoscaler.NewHorizontalController(ctx, client.CoreV1(), scales, client.AutoscalingV2(), mapper,
		metricsClient, factory.Autoscaling().V2().HorizontalPodAutoscalers(), factory.Core().V1().Pods(),
		period, window, tolerance,
		5*time.Minute, 30*time.Second, // kube-controller-manager's defaults; they only concern CPU metrics
	)
	factory.Start(ctx.Done())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		controller.Run(ctx, 1)
	}()
	// Everything started in the bubble must end before synctest.Test returns.
	defer func() {
		cancel()
		<-stopped
		factory.Shutdown()
	}()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()

	synctest.Wait() // informers have listed and are watching
	// The informer's add event queues the HPA with the sync period as delay (horizontal.go
	// enqueueHPA), and every sync queues it again for one period later, so the first sync is
	// one period after the creation and the following ones on that grid.
	if _, err := client.AutoscalingV2().HorizontalPodAutoscalers(namespace).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		return nil, nil, err
	}
	first := time.Now().Add(period)
	for _, s := range c.Samples {
		at := first.Add(time.Duration(s.AtMs-c.Samples[0].AtMs) * time.Millisecond)
		time.Sleep(time.Until(at.Add(-settle)))
		state.Lock()
		if s.SetReplicas != nil {
			state.replicas = *s.SetReplicas
		}
		state.metric = s.MetricMilli
		state.Unlock()

		time.Sleep(2 * settle) // the controller syncs at `at`, and has finished when time moves on
		state.Lock()
		r, synced := state.replicas, state.lastGet
		state.Unlock()
		if !synced.Equal(at) {
			return nil, nil, fmt.Errorf("internal: expected a sync at %v, the last one was at %v (controller errors: %q)", at, synced, takeErrors())
		}
		current, err := client.AutoscalingV2().HorizontalPodAutoscalers(namespace).Get(ctx, hpaName, metav1.GetOptions{})
		if err != nil {
			return nil, nil, err
		}
		var conds []string
		for _, cond := range current.Status.Conditions {
			conds = append(conds, fmt.Sprintf("%s=%s", cond.Type, cond.Reason))
		}
		for _, e := range takeErrors() {
			conds = append(conds, "error: "+e)
		}
		replicas = append(replicas, r)
		reasons = append(reasons, strings.Join(conds, " "))
	}
	return replicas, reasons, nil
}
