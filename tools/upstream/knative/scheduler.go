package main

// Check `scheduler`: the eventing StatefulSet scheduler (knative.dev/eventing
// pkg/scheduler/statefulset) placing KafkaSource ConsumerGroups (the VPods KEDA scales) on
// kafka-source-dispatcher pods, driven the way the ConsumerGroup reconciler drives it
// (eventing-kafka-broker control-plane/pkg/reconciler/consumergroup).
//
// Case:   {"id", "podCapacity", "minReplicas", "vpods": [names, in reconcile order],
//          "steps": [{"vreplicas": {name: n}, "refresh": bool}],
//          "initialReplicas"?: StatefulSet replicas before step 0 (default 0),
//          "refreshPeriodSeconds"?: AUTOSCALER_REFRESH_PERIOD (default 100)}
// Answer: {"id", "steps": [{"statefulSetReplicas", "placements": {name: [{podName, vreplicas}]},
//          "scheduleErrors"?: {name: error of its last, failed Schedule},
//          "evictions"?: [{vpod, podName}] (compaction by the autoscaler in this step)}]}
//
// Everything runs in a testing/synctest bubble (fake clock, see schedInBubble), so the
// autoscaler's goroutine, the informers and the timers behave the same on every run.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	fakekubeclient "knative.dev/pkg/client/injection/kube/client/fake"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/reconciler"

	kafkainternals "knative.dev/eventing-kafka-broker/control-plane/pkg/apis/internalskafkaeventing/v1alpha1"
	duckv1alpha1 "knative.dev/eventing/pkg/apis/duck/v1alpha1"
	"knative.dev/eventing/pkg/scheduler"
	"knative.dev/eventing/pkg/scheduler/state"
	"knative.dev/eventing/pkg/scheduler/statefulset"
	tscheduler "knative.dev/eventing/pkg/scheduler/testing"
)

func init() { register("scheduler", runScheduler) }

const (
	// knative-eventing is system.Namespace() of the kafka-source-controller; the
	// StatefulSet name is kafkainternals.SourceStatefulSetName (register.go).
	schedSystemNamespace = "knative-eventing"
	schedVPodNamespace   = "big-data-pipeline"
	// Bound on reconciles of one vpod within one drain of the queue (the real work queue
	// retries forever with backoff; a retry that changes nothing gives the same answer).
	schedMaxAttempts = 8
)

type schedCase struct {
	ID                   string   `json:"id"`
	PodCapacity          int32    `json:"podCapacity"`
	MinReplicas          int32    `json:"minReplicas"`
	InitialReplicas      int32    `json:"initialReplicas"`
	RefreshPeriodSeconds *float64 `json:"refreshPeriodSeconds"`
	VPods                []string `json:"vpods"`
	Steps                []struct {
		VReplicas map[string]int32 `json:"vreplicas"`
		Refresh   bool             `json:"refresh"`
	} `json:"steps"`
}

type schedEviction struct {
	VPod    string `json:"vpod"`
	PodName string `json:"podName"`
}

type schedStep struct {
	StatefulSetReplicas int32                               `json:"statefulSetReplicas"`
	Placements          map[string][]duckv1alpha1.Placement `json:"placements"`
	ScheduleErrors      map[string]string                   `json:"scheduleErrors,omitempty"`
	Evictions           []schedEviction                     `json:"evictions,omitempty"`
}

func runScheduler(raw json.RawMessage) (any, error) {
	var c schedCase
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	if c.PodCapacity <= 0 || len(c.VPods) == 0 {
		return nil, fmt.Errorf("podCapacity > 0 and at least one vpod are required")
	}
	refresh := 100 * time.Second // AUTOSCALER_REFRESH_PERIOD '100' (config/eventing-kafka-source/200-controller/500-controller.yaml)
	if c.RefreshPeriodSeconds != nil {
		refresh = time.Duration(*c.RefreshPeriodSeconds * float64(time.Second))
	}
	var steps []schedStep
	var runErr error
	err := schedInBubble(func(t *testing.T) {
		defer func() {
			if r := recover(); r != nil {
				runErr = fmt.Errorf("panic: %v", r)
			}
		}()
		steps, runErr = schedSimulate(t, c, refresh)
	})
	if runErr != nil {
		return nil, runErr
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": c.ID, "steps": steps}, nil
}

// schedStore holds the ConsumerGroups (the VPods) like the consumergroup informer cache:
// objects are replaced, never mutated, so the autoscaler's goroutine can list them at any
// time. It also keeps the reconcile queue (FIFO, de-duplicated like a workqueue).
type schedStore struct {
	mu        sync.Mutex
	order     []string
	cgs       map[string]*kafkainternals.ConsumerGroup
	queue     []string
	evictions []schedEviction
}

func (s *schedStore) get(name string) *kafkainternals.ConsumerGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cgs[name]
}

func (s *schedStore) put(cg *kafkainternals.ConsumerGroup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cgs[cg.Name] = cg
}

// list is the VPodLister: controller.go createKafkaScheduler lists the ConsumerGroups
// labelled for the kafka-source-dispatcher StatefulSet (here: all of them, in case order).
func (s *schedStore) list() ([]scheduler.VPod, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vpods := make([]scheduler.VPod, 0, len(s.order))
	for _, n := range s.order {
		vpods = append(vpods, s.cgs[n])
	}
	return vpods, nil
}

func (s *schedStore) enqueue(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		dup := false
		for _, q := range s.queue {
			dup = dup || q == n
		}
		if !dup {
			s.queue = append(s.queue, n)
		}
	}
}

func (s *schedStore) pop() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return "", false
	}
	n := s.queue[0]
	s.queue = s.queue[1:]
	return n, true
}

// takeEvictions returns and clears the evictions recorded since the last call.
func (s *schedStore) takeEvictions() []schedEviction {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.evictions
	s.evictions = nil
	return e
}

// evict is the Config.Evictor the autoscaler's compaction calls (autoscaler.go compact).
// The upstream one (consumergroup/evictor.go evictor.evict) is unexported; this does what it
// does: a ConsumerGroup that is not scheduled yet is left alone (cgBefore.IsNotScheduled()),
// otherwise the placement on from.PodName is dropped from its status (removePlacement +
// JSON patch of the status subresource), and that status update makes the consumergroup
// informer enqueue the ConsumerGroup (controller.go UpdateFunc: impl.Enqueue).
func (s *schedStore) evict(_ *corev1.Pod, vpod scheduler.VPod, from *duckv1alpha1.Placement) error {
	name := vpod.GetKey().Name
	s.mu.Lock()
	before := s.cgs[name]
	if before == nil || before.IsNotScheduled() {
		s.mu.Unlock()
		return nil
	}
	after := before.DeepCopy()
	kept := make([]duckv1alpha1.Placement, 0, len(after.Status.Placements))
	for _, p := range after.Status.Placements {
		if p.PodName != from.PodName {
			kept = append(kept, p)
		}
	}
	after.Status.Placements = schedAsStored(kept)
	s.cgs[name] = after
	s.evictions = append(s.evictions, schedEviction{VPod: name, PodName: from.PodName})
	s.mu.Unlock()
	s.enqueue(name)
	return nil
}

// schedAsStored: status goes through the API server, where `placements,omitempty` turns an
// empty list into none (what the informer hands back on the next reconcile).
func schedAsStored(p []duckv1alpha1.Placement) []duckv1alpha1.Placement {
	if len(p) == 0 {
		return nil
	}
	return p
}

type schedEmu struct {
	ctx    context.Context
	kc     kubernetes.Interface
	sched  scheduler.Scheduler
	store  *schedStore
	pods   int32             // pods the emulated StatefulSet controller has created
	errors map[string]string // vpods whose last Schedule failed
}

func schedSimulate(t *testing.T, c schedCase, refresh time.Duration) ([]schedStep, error) {
	// The upstream scheduler tests' fake context (pkg/scheduler/testing SetupFakeContext):
	// injection fake kube client with reactors serving the StatefulSet's scale subresource.
	ctx, cancel := tscheduler.SetupFakeContext(t)
	defer cancel()
	ctx = logging.WithLogger(ctx, zap.NewNop().Sugar())
	kc := fakekubeclient.Get(ctx)

	sfsName := kafkainternals.SourceStatefulSetName
	if _, err := kc.AppsV1().StatefulSets(schedSystemNamespace).Create(ctx,
		tscheduler.MakeStatefulset(schedSystemNamespace, sfsName, c.InitialReplicas), metav1.CreateOptions{}); err != nil {
		return nil, err
	}

	// The dispatcher pod informer (controller.go: podinformer filtered by the dispatcher
	// label), here a plain namespaced informer over the fake client.
	pif := informers.NewSharedInformerFactoryWithOptions(kc, 0, informers.WithNamespace(schedSystemNamespace))
	podLister := pif.Core().V1().Pods().Lister().Pods(schedSystemNamespace)
	pif.Start(ctx.Done())
	pif.WaitForCacheSync(ctx.Done())

	store := &schedStore{order: c.VPods, cgs: map[string]*kafkainternals.ConsumerGroup{}}
	for _, n := range c.VPods {
		store.cgs[n] = &kafkainternals.ConsumerGroup{
			ObjectMeta: metav1.ObjectMeta{Namespace: schedVPodNamespace, Name: n, ResourceVersion: "1"},
			Spec:       kafkainternals.ConsumerGroupSpec{Replicas: new(int32)},
		}
	}

	// consumergroup/controller.go createStatefulSetScheduler.
	s, err := statefulset.New(ctx, &statefulset.Config{
		StatefulSetNamespace: schedSystemNamespace,
		StatefulSetName:      sfsName,
		ScaleCacheConfig:     scheduler.ScaleCacheConfig{RefreshPeriod: 5 * time.Minute}, // statefulSetScaleCacheRefreshPeriod
		PodCapacity:          c.PodCapacity,                                              // POD_CAPACITY
		RefreshPeriod:        refresh,                                                    // AUTOSCALER_REFRESH_PERIOD
		Evictor:              store.evict,
		VPodLister:           store.list,
		PodLister:            podLister,
		MinReplicas:          c.MinReplicas, // DISPATCHERS_MIN_REPLICAS
	})
	if err != nil {
		return nil, err
	}
	// Leader election: controller.go PromoteFunc calls ss.Promote(bkt, nil) for the buckets
	// this replica leads; with one controller replica its bucket holds every key, including
	// the autoscaler's ephemeral one (knative-eventing/autoscaler-ephemeral).
	if err := s.(*statefulset.StatefulSetScheduler).Promote(reconciler.UniversalBucket(), nil); err != nil {
		return nil, err
	}
	synctest.Wait()

	e := &schedEmu{ctx: ctx, kc: kc, sched: s, store: store, errors: map[string]string{}}
	if _, err := e.syncPods(); err != nil {
		return nil, err
	}

	out := make([]schedStep, 0, len(c.Steps))
	for i, step := range c.Steps {
		store.takeEvictions()
		for _, n := range c.VPods {
			v, ok := step.VReplicas[n]
			cg := store.get(n)
			if !ok {
				v = *cg.Spec.Replicas // not given: unchanged (0 before step 0)
			}
			if i > 0 && *cg.Spec.Replicas == v {
				continue
			}
			// KEDA updates the ConsumerGroup's scale subresource (spec.replicas); the
			// informer update enqueues it (controller.go UpdateFunc).
			cg = cg.DeepCopy()
			cg.Spec.Replicas = &v
			store.put(cg)
			store.enqueue(n)
		}
		if err := e.drain(); err != nil {
			return nil, err
		}
		if step.Refresh {
			// The autoscaler's loop (autoscaler.go Start) attempts a scale down when
			// refreshPeriod passes without a trigger; on the fake clock that is a sleep.
			time.Sleep(refresh)
			synctest.Wait()
			if err := e.resyncIfScaled(); err != nil {
				return nil, err
			}
			if err := e.drain(); err != nil {
				return nil, err
			}
		}
		sfs, err := kc.AppsV1().StatefulSets(schedSystemNamespace).Get(ctx, sfsName, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		st := schedStep{StatefulSetReplicas: *sfs.Spec.Replicas, Placements: map[string][]duckv1alpha1.Placement{}}
		for _, n := range c.VPods {
			p := store.get(n).Status.Placements
			if p == nil {
				p = []duckv1alpha1.Placement{}
			}
			st.Placements[n] = p
		}
		if len(e.errors) > 0 {
			st.ScheduleErrors = map[string]string{}
			for k, v := range e.errors {
				st.ScheduleErrors[k] = v
			}
		}
		st.Evictions = store.takeEvictions()
		out = append(out, st)
	}
	return out, nil
}

// drain reconciles queued ConsumerGroups until the queue is empty.
func (e *schedEmu) drain() error {
	attempts := map[string]int{}
	for {
		name, ok := e.store.pop()
		if !ok {
			return nil
		}
		attempts[name]++
		failed := e.reconcile(name)
		if err := e.resyncIfScaled(); err != nil {
			return err
		}
		// A failed Schedule returns controller.NewRequeueAfter(5s) (scheduler.go
		// notEnoughPodReplicas): the ConsumerGroup is reconciled again.
		if failed && attempts[name] < schedMaxAttempts {
			e.store.enqueue(name)
		}
	}
}

// reconcile does what consumergroup.go ReconcileKind does with the scheduler
// (Reconciler.schedule): Schedule, then commit the sorted placements to the status, or
// mark the ConsumerGroup not scheduled and keep the old placements.
func (e *schedEmu) reconcile(name string) (failed bool) {
	cg := e.store.get(name).DeepCopy()
	placements, err := e.sched.Schedule(e.ctx, cg)
	// Schedule triggers the autoscaler asynchronously (statefulset/scheduler.go
	// scheduleVPod: s.autoscaler.Autoscale); let its goroutine and the informers settle.
	synctest.Wait()
	if err != nil {
		_ = cg.MarkScheduleConsumerFailed("Schedule", err)
		e.errors[name] = err.Error()
	} else {
		// consumergroup.go schedule: "Sort placements by pod name." then
		// cg.Status.Placements = placements.
		sort.SliceStable(placements, func(i, j int) bool { return placements[i].PodName < placements[j].PodName })
		cg.Status.Placements = schedAsStored(placements)
		cg.MarkScheduleSucceeded()
		delete(e.errors, name)
	}
	e.store.put(cg)
	return err != nil
}

// resyncIfScaled: when the StatefulSet's replicas changed, the StatefulSet controller
// creates/deletes pods, and the consumergroup controller resyncs every KafkaSource
// ConsumerGroup (controller.go ResyncOnStatefulSetChange and the dispatcher pod handler).
func (e *schedEmu) resyncIfScaled() error {
	changed, err := e.syncPods()
	if err != nil {
		return err
	}
	if changed {
		e.store.enqueue(e.store.order...)
	}
	return nil
}

// syncPods plays the StatefulSet controller: pods <name>-<ordinal> exist (scheduled on a
// node, i.e. schedulable for state.go) for every ordinal below spec.replicas.
func (e *schedEmu) syncPods() (bool, error) {
	name := kafkainternals.SourceStatefulSetName
	sfs, err := e.kc.AppsV1().StatefulSets(schedSystemNamespace).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	want := *sfs.Spec.Replicas
	if want == e.pods {
		return false, nil
	}
	for o := e.pods; o < want; o++ {
		pod := tscheduler.MakePod(schedSystemNamespace, state.PodNameFromOrdinal(name, o), "node-0")
		if _, err := e.kc.CoreV1().Pods(schedSystemNamespace).Create(e.ctx, pod, metav1.CreateOptions{}); err != nil {
			return false, err
		}
	}
	for o := want; o < e.pods; o++ {
		if err := e.kc.CoreV1().Pods(schedSystemNamespace).Delete(e.ctx, state.PodNameFromOrdinal(name, o), metav1.DeleteOptions{}); err != nil {
			return false, err
		}
	}
	e.pods = want
	synctest.Wait() // the pod informer sees them
	return true, nil
}

// schedInBubble runs f in a testing/synctest bubble. synctest.Test needs a *testing.T of a
// running test, and the only exported way to get one outside `go test` is
// testing.MainStart (meant for generated test mains, not covered by the Go 1 promise; its
// testDeps argument is satisfied by schedTestDeps). M.Run prints PASS/FAIL on os.Stdout,
// which is swapped for /dev/null meanwhile (main.go writes through its own handle).
func schedInBubble(f func(t *testing.T)) error {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	ran := false
	m := testing.MainStart(schedTestDeps{}, []testing.InternalTest{{Name: "bubble", F: func(t *testing.T) {
		synctest.Test(t, f)
		ran = true
	}}}, nil, nil, nil)
	stdout := os.Stdout
	os.Stdout = devnull
	code := m.Run()
	os.Stdout = stdout
	if code != 0 || !ran {
		return fmt.Errorf("synctest bubble failed (exit code %d)", code)
	}
	return nil
}

// schedCorpusEntry is testing's corpusEntry (an alias of this struct type).
type schedCorpusEntry = struct {
	Parent     string
	Path       string
	Data       []byte
	Values     []any
	Generation int
	IsSeed     bool
}

// schedTestDeps implements testing.MainStart's testDeps with no profiling/fuzzing/coverage.
type schedTestDeps struct{}

func (schedTestDeps) ImportPath() string                          { return "" }
func (schedTestDeps) ModulePath() string                          { return "" }
func (schedTestDeps) MatchString(pat, str string) (bool, error)   { return regexp.MatchString(pat, str) }
func (schedTestDeps) SetPanicOnExit0(bool)                        {}
func (schedTestDeps) StartCPUProfile(io.Writer) error             { return nil }
func (schedTestDeps) StopCPUProfile()                             {}
func (schedTestDeps) StartTestLog(io.Writer)                      {}
func (schedTestDeps) StopTestLog() error                          { return nil }
func (schedTestDeps) WriteProfileTo(string, io.Writer, int) error { return nil }
func (schedTestDeps) CoordinateFuzzing(time.Duration, int64, time.Duration, int64, int, []schedCorpusEntry, []reflect.Type, string, string) error {
	return nil
}
func (schedTestDeps) RunFuzzWorker(func(schedCorpusEntry) error) error { return nil }
func (schedTestDeps) ReadCorpus(string, []reflect.Type) ([]schedCorpusEntry, error) {
	return nil, nil
}
func (schedTestDeps) CheckCorpus([]any, []reflect.Type) error { return nil }
func (schedTestDeps) ResetCoverage()                          {}
func (schedTestDeps) SnapshotCoverage()                       {}
func (schedTestDeps) InitRuntimeCoverage() (string, func(string, string) (string, error), func() float64) {
	return "", nil, nil
}
