package main

// Check "kpa": Knative Serving's KPA decider (knative.dev/serving v0.50.0), driven tick by tick on
// simulated time.
//
// Case:   {"id", "annotations": {…revision template annotations…}, "containerConcurrency": 0,
//          "configAutoscaler": {…config-autoscaler data…},
//          "observations": [{"atMs", "inFlight", "rps"?}…], "ticks": [{"atMs", "readyPods"}…],
//          "routingState"?: "active"|"reserve"|"" (default "active"),
//          "initialReadyPods"?: ready pods when the decider is created (default 0 = new revision)}
// Answer: {"id", "decider": DeciderSpec, "metric": {…}, "bounds": {…},
//          "decisions": [{"atMs", "readyPods", "valid", "desired", "excessBurstCapacity",
//                         "panic", "observedStable", "observedPanic"}…]}
//
// What is driven (all upstream, nothing re-implemented):
//   - the Revision → PodAutoscaler step: reconciler/revision/resources/pa.go MakePA, then the
//     PA webhook's defaulting apis/autoscaling/v1alpha1/pa_defaults.go SetDefaults (class, metric);
//     the annotations are first checked with apis/autoscaling/annotation_validation.go, as the
//     Service webhook would;
//   - the config: autoscaler/config/config.go NewConfigFromMap;
//   - the DeciderSpec: reconciler/autoscaling/kpa/resources/decider.go MakeDecider, and the Metric
//     (windows, scrape target, aggregation annotation): reconciler/autoscaling/resources/metric.go
//     MakeMetric;
//   - metric aggregation: the real autoscaler/metrics/collector.go MetricCollector. Its own scrape
//     loop runs on a wall-clock ticker (clock unexported), so it is given a nil scraper (the loop
//     then skips, collector.go "Don't scrape empty target service") and each observation is fed
//     through MetricCollector.Record(key, t, stat) — the entry the activator's stats use, which
//     calls the same collection.record as a scrape: stable and panic buckets (1 s granularity,
//     TimedFloat64Buckets or WeightedFloat64Buckets per the aggregation annotation), read back
//     by StableAndPanicConcurrency/RPS including its ErrNoData rule. This beats feeding
//     aggregation buckets by hand: the bucket choice, windows and no-data rule stay upstream's.
//   - the decision: autoscaler/scaling/autoscaler.go New + Scale(logger, now) at each tick.
//
// What is NOT driven, and why:
//   - min-scale/max-scale clamping, initial scale and scale-to-zero (grace period, pod retention,
//     activation timeout) live in reconciler/autoscaling/kpa/scaler.go (scaler.scale,
//     applyBounds, handleScaleToZero), unexported methods reachable only through the whole KPA
//     Reconciler (injection informers, SKS, dynamic client on the Deployment's scale
//     subresource). handleScaleToZero reads time.Now() and the PA conditions' wall-clock
//     transition times (ActiveFor/InactiveFor, SKS ProxyFor) and probes the activator over HTTP,
//     so it cannot run on simulated time. The decider does apply activation-scale
//     (autoscaler.go) and reachability (max scale-down rate only when reachable); the answer's
//     "bounds" gives the inputs the reconciler would clamp with (pa.ScaleBounds and
//     kpa/resources GetInitialScale, both upstream) without applying them.
//   - the MultiScaler (autoscaler/scaling/multiscaler.go) ticks every 2 s on wall clock; it keeps
//     the previous status when Scale is invalid (DesiredScale -1 before the first valid result).
//     Invalid ticks are answered with "valid": false and null desired/excessBurstCapacity.
//   - panic mode has no accessor; it is read from Scale's own debug log line
//     ("Operating in panic mode." / "Operating in stable mode.").

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/serving/pkg/apis/autoscaling"
	autoscalingv1alpha1 "knative.dev/serving/pkg/apis/autoscaling/v1alpha1"
	servingconfig "knative.dev/serving/pkg/apis/config"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	asconfig "knative.dev/serving/pkg/autoscaler/config"
	"knative.dev/serving/pkg/autoscaler/metrics"
	"knative.dev/serving/pkg/autoscaler/scaling"
	kparesources "knative.dev/serving/pkg/reconciler/autoscaling/kpa/resources"
	aresources "knative.dev/serving/pkg/reconciler/autoscaling/resources"
	revresources "knative.dev/serving/pkg/reconciler/revision/resources"
)

func init() { register("kpa", kpaCheck) }

type kpaCase struct {
	ID                   string            `json:"id"`
	Annotations          map[string]string `json:"annotations"`
	ContainerConcurrency int64             `json:"containerConcurrency"`
	ConfigAutoscaler     map[string]string `json:"configAutoscaler"`
	RoutingState         *string           `json:"routingState"`
	InitialReadyPods     int               `json:"initialReadyPods"`
	Observations         []struct {
		AtMs     int64   `json:"atMs"`
		InFlight float64 `json:"inFlight"`
		RPS      float64 `json:"rps"`
	} `json:"observations"`
	Ticks []struct {
		AtMs      int64 `json:"atMs"`
		ReadyPods int   `json:"readyPods"`
	} `json:"ticks"`
}

type kpaDecision struct {
	AtMs                int64    `json:"atMs"`
	ReadyPods           int      `json:"readyPods"`
	Valid               bool     `json:"valid"`
	Desired             *int32   `json:"desired"`
	ExcessBurstCapacity *int32   `json:"excessBurstCapacity"`
	Panic               *bool    `json:"panic"`
	ObservedStable      *float64 `json:"observedStable"`
	ObservedPanic       *float64 `json:"observedPanic"`
}

// readyPods answers the decider's resources.EndpointsCounter with the current tick's count.
type readyPods struct{ n int }

func (r *readyPods) ReadyCount() (int, error)    { return r.n, nil }
func (r *readyPods) NotReadyCount() (int, error) { return 0, nil }

// nilScraper is a metrics.StatsScraperFactory whose collections never scrape by themselves.
func nilScraper(*autoscalingv1alpha1.Metric, *zap.SugaredLogger) (metrics.StatsScraper, error) {
	return nil, nil
}

func kpaCheck(raw json.RawMessage) (any, error) {
	var c kpaCase
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	if c.ConfigAutoscaler == nil {
		c.ConfigAutoscaler = map[string]string{}
	}
	cfg, err := asconfig.NewConfigFromMap(c.ConfigAutoscaler)
	if err != nil {
		return nil, fmt.Errorf("config-autoscaler: %w", err)
	}
	ctx := servingconfig.ToContext(context.Background(), &servingconfig.Config{Autoscaler: cfg})
	// The Service webhook rejects templates whose autoscaling annotations are invalid.
	if fe := autoscaling.ValidateAnnotations(ctx, cfg, c.Annotations); fe != nil {
		return nil, fmt.Errorf("annotations: %v", fe)
	}

	// Revision → PA as the revision reconciler makes it, then the PA webhook's defaults.
	rev := &servingv1.Revision{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "rev-00001", Annotations: c.Annotations},
		Spec:       servingv1.RevisionSpec{ContainerConcurrency: &c.ContainerConcurrency},
	}
	state := string(servingv1.RoutingStateActive)
	if c.RoutingState != nil {
		state = *c.RoutingState
	}
	if state != "" {
		rev.SetRoutingState(servingv1.RoutingState(state), time.Unix(0, 0))
	}
	pa := revresources.MakePA(rev, nil)
	pa.SetDefaults(ctx)
	if pa.Class() != autoscaling.KPA {
		return nil, fmt.Errorf("class %q is not reconciled by the KPA", pa.Class())
	}

	decider := kparesources.MakeDecider(pa, cfg)
	// kpa.go resolveScrapeTarget: no scrape target when TBC is -1 (activator always in path),
	// else the SKS private service; only its emptiness matters here (ErrNoData rule).
	scrapeTarget := pa.Name + "-private"
	if decider.Spec.TargetBurstCapacity == -1 {
		scrapeTarget = ""
	}
	metric := aresources.MakeMetric(pa, scrapeTarget, cfg)
	minScale, maxScale := pa.ScaleBounds(cfg)

	logs, sink := observer.New(zapcore.DebugLevel)
	logger := zap.New(logs).Sugar()
	collector := metrics.NewMetricCollector(nilScraper, logger)
	if err := collector.CreateOrUpdate(metric); err != nil {
		return nil, err
	}
	key := types.NamespacedName{Namespace: metric.Namespace, Name: metric.Name}
	defer collector.Delete(key.Namespace, key.Name)

	// Simulated time starts on a whole second, so atMs 0 opens a 1 s bucket. autoscaler.go
	// newAutoscaler starts in panic mode, stamped with time.Now(), when it sees more than one
	// ready pod; then simulated time starts on the wall clock's next second, within a
	// millisecond of that stamp.
	base := time.Unix(1_700_000_000, 0)
	pods := &readyPods{n: c.InitialReadyPods}
	if c.InitialReadyPods > 1 {
		base = time.Now().Truncate(time.Second).Add(time.Second)
		time.Sleep(time.Until(base))
	}
	uni := scaling.New(attribute.NewSet(), nil, key.Namespace, key.Name, collector, pods, &decider.Spec)
	defer uni.OnDelete()

	var out []kpaDecision
	next := 0
	for _, tick := range c.Ticks {
		now := base.Add(time.Duration(tick.AtMs) * time.Millisecond)
		// Observations up to and including the tick's instant are recorded first.
		for ; next < len(c.Observations) && c.Observations[next].AtMs <= tick.AtMs; next++ {
			o := c.Observations[next]
			collector.Record(key, base.Add(time.Duration(o.AtMs)*time.Millisecond),
				metrics.Stat{AverageConcurrentRequests: o.InFlight, RequestCount: o.RPS})
		}
		d := kpaDecision{AtMs: tick.AtMs, ReadyPods: tick.ReadyPods}
		// Read-only (buckets' WindowAverage under a read lock): what Scale is about to see.
		read := collector.StableAndPanicConcurrency
		if decider.Spec.ScalingMetric == autoscaling.RPS {
			read = collector.StableAndPanicRPS
		}
		if st, pn, err := read(key, now); err == nil {
			d.ObservedStable, d.ObservedPanic = &st, &pn
		}
		pods.n = tick.ReadyPods
		sink.TakeAll()
		r := uni.Scale(logger, now)
		if d.Valid = r.ScaleValid; d.Valid {
			d.Desired, d.ExcessBurstCapacity = &r.DesiredPodCount, &r.ExcessBurstCapacity
			for _, e := range sink.TakeAll() {
				if p := e.Message == "Operating in panic mode."; p || e.Message == "Operating in stable mode." {
					d.Panic = &p
				}
			}
		}
		out = append(out, d)
	}
	initialScale := kparesources.GetInitialScale(cfg, pa)
	return map[string]any{
		"id":      c.ID,
		"decider": decider.Spec,
		"metric": map[string]any{
			"stableWindowMs":       metric.Spec.StableWindow.Milliseconds(),
			"panicWindowMs":        metric.Spec.PanicWindow.Milliseconds(),
			"scrapeTarget":         metric.Spec.ScrapeTarget,
			"aggregationAlgorithm": metric.AggregationAlgorithm(),
		},
		// Inputs of kpa/scaler.go's clamping and scale-to-zero, which are not driven (see top).
		"bounds": map[string]any{
			"minScale": minScale, "maxScale": maxScale, "initialScale": initialScale,
			"enableScaleToZero":        cfg.EnableScaleToZero,
			"scaleToZeroGracePeriodMs": cfg.ScaleToZeroGracePeriod.Milliseconds(),
		},
		"decisions": out,
	}, nil
}
