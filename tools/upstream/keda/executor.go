package main

// executor: KEDA's 0↔1 logic, RequestScale in pkg/scaling/executor/scale_scaledobjects.go, for
// a ScaledObject whose target is scaled through its /scale subresource (as in the cluster: the
// KafkaSource's ConsumerGroup, the target eventing-kafka-broker's GenerateScaleTarget gives the
// ScaledObjects it generates), polled at given times with a given trigger activity.
//
//   case:   {"id", "minReplicaCount"?, "maxReplicaCount"?, "idleReplicaCount"?,
//            "cooldownPeriod"?, "initialCooldownPeriod"?, "initialReplicas", "createdAtMs",
//            "initialLastActiveMs"?, "polls": [{"atMs", "active", "error"?, "replicas"?}]}
//   answer: {"id", "replicas": [after each poll], "lastActiveMs": [after each poll, or null]}
//
// The *ReplicaCount and *Period fields are the ScaledObject's spec (seconds for the periods); an
// absent one is unset, so KEDA's defaults apply (cooldown 300 s, initial cooldown 0 s, min 0).
// maxReplicaCount is accepted but RequestScale never reads it (the HPA does). A poll's "active"
// and "error" are the isActive/isError the scale loop passes; its optional "replicas" sets the
// target's replicas just before the poll, standing for what the HPA (or anyone) did since the
// previous one. Times are milliseconds on any axis (relative or Unix epoch), non-decreasing.
//
// Time: RequestScale reads time.Now() (cooldown checks, the lastActiveTime it records), so the
// polls run in a testing/synctest bubble whose fake clock jumps exactly to each poll's time.
// Between polls the ScaledObject goes through JSON as it does through the API server, and
// metav1.Time keeps whole seconds there: lastActiveTime and creationTimestamp are what the next
// poll sees after that truncation (answers show it).

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	scalefake "k8s.io/client-go/scale/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/kedacore/keda/v2/pkg/scaling/executor"
)

func init() { register("executor", executorCheck) }

type executorPoll struct {
	AtMs     int64  `json:"atMs"`
	Active   bool   `json:"active"`
	Error    bool   `json:"error"`
	Replicas *int32 `json:"replicas"`
}

type executorCase struct {
	ID                    string         `json:"id"`
	MinReplicaCount       *int32         `json:"minReplicaCount"`
	MaxReplicaCount       *int32         `json:"maxReplicaCount"`
	IdleReplicaCount      *int32         `json:"idleReplicaCount"`
	CooldownPeriod        *int32         `json:"cooldownPeriod"`
	InitialCooldownPeriod *int32         `json:"initialCooldownPeriod"`
	InitialReplicas       int32          `json:"initialReplicas"`
	CreatedAtMs           int64          `json:"createdAtMs"`
	InitialLastActiveMs   *int64         `json:"initialLastActiveMs"`
	Polls                 []executorPoll `json:"polls"`
}

type executorAnswer struct {
	ID           string   `json:"id"`
	Replicas     []int32  `json:"replicas"`
	LastActiveMs []*int64 `json:"lastActiveMs"`
}

// The ConsumerGroup the ScaledObject targets, as the ScaledObject controller resolves it into
// status.scaleTargetGVKR (RequestScale reads the target through it).
var targetGVKR = kedav1alpha1.GroupVersionKindResource{
	Group: "internal.kafka.eventing.knative.dev", Version: "v1alpha1", Kind: "ConsumerGroup", Resource: "consumergroups",
}

func executorCheck(raw json.RawMessage) (any, error) {
	var c executorCase
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	for i := 1; i < len(c.Polls); i++ {
		if c.Polls[i].AtMs < c.Polls[i-1].AtMs {
			return nil, fmt.Errorf("polls[%d].atMs goes back in time", i)
		}
	}
	answer := &executorAnswer{ID: c.ID, Replicas: []int32{}, LastActiveMs: []*int64{}}
	if len(c.Polls) == 0 {
		return answer, nil
	}
	if err := inBubble(func() error { return runExecutor(&c, answer) }); err != nil {
		return nil, err
	}
	return answer, nil
}

func runExecutor(c *executorCase, answer *executorAnswer) error {
	// The bubble's clock starts at 2000-01-01T00:00:00Z, a whole second. The case's axis is
	// mapped onto it from the whole second at or before the first poll, so the whole-second
	// truncation of the API server falls where it would on the case's own axis.
	start := time.Now()
	origin := c.Polls[0].AtMs - mod(c.Polls[0].AtMs, 1000)
	at := func(ms int64) time.Time { return start.Add(time.Duration(ms-origin) * time.Millisecond) }
	back := func(t time.Time) int64 { return origin + t.Sub(start).Milliseconds() }

	// The target's /scale subresource.
	replicas := c.InitialReplicas
	scales := &scalefake.FakeScaleClient{}
	scales.AddReactor("get", targetGVKR.Resource, func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: replicas}}, nil
	})
	scales.AddReactor("update", targetGVKR.Resource, func(a clienttesting.Action) (bool, runtime.Object, error) {
		s := a.(clienttesting.UpdateAction).GetObject().(*autoscalingv1.Scale)
		replicas = s.Spec.Replicas
		return true, s, nil
	})
	// An empty cluster for the controller-runtime client: GetCurrentReplicas
	// (pkg/scaling/resolver/scale_resolvers.go) first tries the target from the informer cache
	// and falls back to the /scale subresource; status.hpaName is empty, so checkHPAHealth
	// skips reading the HPA.
	scheme := runtime.NewScheme()
	if err := kedav1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	kube := fake.NewClientBuilder().WithScheme(scheme).Build()
	exec := executor.NewScaleExecutor(kube, scales, scheme, events.NewFakeRecorder(len(c.Polls)+1))

	so := &kedav1alpha1.ScaledObject{
		TypeMeta: metav1.TypeMeta{APIVersion: "keda.sh/v1alpha1", Kind: "ScaledObject"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "upstream-check", Namespace: "default", CreationTimestamp: metav1.NewTime(at(c.CreatedAtMs)),
		},
		Spec: kedav1alpha1.ScaledObjectSpec{
			ScaleTargetRef: &kedav1alpha1.ScaleTarget{
				APIVersion: targetGVKR.Group + "/" + targetGVKR.Version, Kind: targetGVKR.Kind, Name: "upstream-check",
			},
			MinReplicaCount:       c.MinReplicaCount,
			MaxReplicaCount:       c.MaxReplicaCount,
			IdleReplicaCount:      c.IdleReplicaCount,
			CooldownPeriod:        c.CooldownPeriod,
			InitialCooldownPeriod: c.InitialCooldownPeriod,
		},
		Status: kedav1alpha1.ScaledObjectStatus{
			ScaleTargetKind: targetGVKR.Group + "/" + targetGVKR.Version + "." + targetGVKR.Kind,
			ScaleTargetGVKR: &targetGVKR,
		},
	}
	if c.InitialLastActiveMs != nil {
		so.Status.LastActiveTime = &metav1.Time{Time: at(*c.InitialLastActiveMs)}
	}
	so, err := throughAPIServer(so)
	if err != nil {
		return err
	}

	ctx := context.Background()
	for _, p := range c.Polls {
		time.Sleep(time.Until(at(p.AtMs))) // the fake clock lands exactly on at(p.AtMs)
		if p.Replicas != nil {
			replicas = *p.Replicas
		}
		// The scale loop (checkScalers in pkg/scaling/scale_handler.go) passes the ScaledObject's
		// activity and error state, and the names of the active triggers (used in events only).
		result := exec.RequestScale(ctx, so, p.Active, p.Error, executor.ScaleExecutorOptions{})
		if result.Error != nil {
			return result.Error
		}
		// handleResult (pkg/scaling/scale_handler.go) patches result.LastActiveTime into the
		// status; the next poll reads the ScaledObject back from the informer cache.
		if result.LastActiveTime != nil {
			so.Status.LastActiveTime = result.LastActiveTime
		}
		if so, err = throughAPIServer(so); err != nil {
			return err
		}
		answer.Replicas = append(answer.Replicas, replicas)
		var last *int64
		if so.Status.LastActiveTime != nil {
			ms := back(so.Status.LastActiveTime.Time)
			last = &ms
		}
		answer.LastActiveMs = append(answer.LastActiveMs, last)
	}
	return nil
}

// throughAPIServer round-trips a ScaledObject through JSON, as storing it in and reading it
// back from the API server does (metav1.Time marshals as RFC 3339 with whole seconds).
func throughAPIServer(so *kedav1alpha1.ScaledObject) (*kedav1alpha1.ScaledObject, error) {
	data, err := json.Marshal(so)
	if err != nil {
		return nil, err
	}
	out := &kedav1alpha1.ScaledObject{}
	return out, json.Unmarshal(data, out)
}

func mod(a, b int64) int64 { return ((a % b) + b) % b }

var initTesting sync.Once

// inBubble runs f in a testing/synctest bubble (fake clock, starting at 2000-01-01 UTC). Go 1.26
// offers bubbles only through synctest.Test, which wants a *testing.T although f never uses it:
// Test hangs the bubble's own T under the one it is given and reads only its name, level,
// chatty printer and test state, all of which may be zero outside `go test` once testing.Init
// has registered the flags tRunner reads. f must not fail the test, so a panic in it is
// recovered and returned as an error.
func inBubble(f func() error) (err error) {
	initTesting.Do(testing.Init)
	synctest.Test(&testing.T{}, func(*testing.T) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		err = f()
	})
	return err
}
