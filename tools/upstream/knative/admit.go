package main

// Check "admit": what the Knative admission webhooks do to an object on CREATE.
//
// Case:   {"id", "object": {…rendered object…},
//          "configMaps"?: {"<name>": {…data…}}   (the webhook's ConfigMaps; absent = as shipped)
//          "user"?: "<username>"                (request user; default "kubernetes-admin")}
// Answer: {"id", "kind", "apiVersion", "webhook", "defaulted": {…}|null, "errors": null|"…",
//          "denied"?: "<full admission message>", "warnings"?: […]}
//
// Kinds, with the webhook that serves them (types maps of the cmd/webhook main.go files):
//   serving.knative.dev/v1 Service                         serving cmd/webhook/main.go
//   sources.knative.dev/v1, v1beta1 KafkaSource            eventing-kafka-broker control-plane/
//   eventing.knative.dev/v1alpha1 KafkaSink                  cmd/webhook-kafka/main.go
//   sources.knative.dev/v1, v1beta2 PingSource             eventing cmd/webhook/main.go
//
// The real admission controllers of knative.dev/pkg (webhook/resourcesemantics/defaulting and
// /validation NewAdmissionController) are built on fake injection clients and their Admit is
// called with a CREATE AdmissionRequest, as the API server would: the defaulting webhook decodes
// (webhook/json.Decode, each webhook's disallowUnknownFields), adds WithinCreate and the
// request's user info, runs SetDefaults and its creator/lastModifier annotations and answers a
// JSON patch; the patched object then goes to the validating webhook, which runs Validate
// (errors and warnings) and its callbacks (serving's ValidateService only acts on dry-run
// requests). The context functions below restate what each main.go wraps around them (those
// are in package main upstream and cannot be imported); their stores are the upstream stores,
// loaded through their own constructors from the case's ConfigMaps.
// Not reproduced: what the API server does before/after the webhooks (CRD schema pruning and
// OpenAPI defaults, generateName, server-side field validation), and UPDATE/DELETE.
// "errors" is the FieldError string (the webhook's "validation failed: " prefix removed);
// "denied" is the whole message a client sees when the webhook refuses the object.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"knative.dev/pkg/apis"
	kubeclient "knative.dev/pkg/client/injection/kube/client"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/webhook"
	"knative.dev/pkg/webhook/resourcesemantics"
	"knative.dev/pkg/webhook/resourcesemantics/defaulting"
	"knative.dev/pkg/webhook/resourcesemantics/validation"

	// Fake injection clients and informers the admission controllers' constructors ask for.
	_ "knative.dev/pkg/client/injection/kube/client/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/admissionregistration/v1/mutatingwebhookconfiguration/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/admissionregistration/v1/validatingwebhookconfiguration/fake"
	_ "knative.dev/pkg/injection/clients/namespacedkube/informers/core/v1/secret/fake"

	kafkasinkv1alpha1 "knative.dev/eventing-kafka-broker/control-plane/pkg/apis/eventing/v1alpha1"
	kafkasourcev1 "knative.dev/eventing-kafka-broker/control-plane/pkg/apis/sources/v1"
	kafkasourcev1beta1 "knative.dev/eventing-kafka-broker/control-plane/pkg/apis/sources/v1beta1"
	eventingconfig "knative.dev/eventing/pkg/apis/config"
	"knative.dev/eventing/pkg/apis/feature"
	channelconfig "knative.dev/eventing/pkg/apis/messaging/config"
	"knative.dev/eventing/pkg/apis/sinks"
	pingconfig "knative.dev/eventing/pkg/apis/sources/config"
	pingv1 "knative.dev/eventing/pkg/apis/sources/v1"
	pingv1beta2 "knative.dev/eventing/pkg/apis/sources/v1beta2"
	servingconfig "knative.dev/serving/pkg/apis/config"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	asconfig "knative.dev/serving/pkg/autoscaler/config"
	servingwebhook "knative.dev/serving/pkg/webhook"
)

func init() { register("admit", admitCheck) }

// ctxFuncs are a webhook's two withContext functions, built per case from fresh stores.
type ctxFuncs struct {
	defaulting, validation func(context.Context) context.Context
}

// feeder loads a store with the named ConfigMaps of the case (empty when the case has none).
type feeder func(s *configmap.UntypedStore, names ...string)

type admissionWebhook struct {
	name, namespace        string // validating webhook name (for the "denied" message), system namespace
	types                  map[schema.GroupVersionKind]resourcesemantics.GenericCRD
	disallowUnknownDefault bool
	disallowUnknownValid   bool
	callbacks              map[schema.GroupVersionKind]validation.Callback
	stores                 func(feed feeder, kube context.Context) ctxFuncs

	kube               context.Context // the fake injection context, once built
	defaulter, checker webhook.AdmissionController
	current            ctxFuncs
}

var admissionWebhooks = []*admissionWebhook{{
	// serving cmd/webhook/main.go: one apisconfig store (config-defaults, config-features,
	// config-autoscaler) for both webhooks; serviceValidation callback on Create/Update.
	name: "validation.webhook.serving.knative.dev", namespace: "knative-serving",
	types: map[schema.GroupVersionKind]resourcesemantics.GenericCRD{
		servingv1.SchemeGroupVersion.WithKind("Service"): &servingv1.Service{},
	},
	callbacks: map[schema.GroupVersionKind]validation.Callback{
		servingv1.SchemeGroupVersion.WithKind("Service"): validation.NewCallback(
			servingwebhook.ValidateService, webhook.Create, webhook.Update),
	},
	stores: func(feed feeder, _ context.Context) ctxFuncs {
		s := servingconfig.NewStore(storeLogger)
		feed(s.UntypedStore, servingconfig.DefaultsConfigName, servingconfig.FeaturesConfigName, asconfig.ConfigName)
		return ctxFuncs{s.ToContext, s.ToContext}
	},
}, {
	// eventing-kafka-broker control-plane/cmd/webhook-kafka/main.go: defaulting only allows
	// different namespaces (no config store: KafkaSource defaults come from
	// FromContextOrDefaults); validation adds the eventing feature store and decodes strictly.
	name: "validation.webhook.kafka.eventing.knative.dev", namespace: "knative-eventing",
	types: map[schema.GroupVersionKind]resourcesemantics.GenericCRD{
		kafkasinkv1alpha1.SchemeGroupVersion.WithKind("KafkaSink"):    &kafkasinkv1alpha1.KafkaSink{},
		kafkasourcev1beta1.SchemeGroupVersion.WithKind("KafkaSource"): &kafkasourcev1beta1.KafkaSource{},
		kafkasourcev1.SchemeGroupVersion.WithKind("KafkaSource"):      &kafkasourcev1.KafkaSource{},
	},
	disallowUnknownValid: true,
	stores: func(feed feeder, _ context.Context) ctxFuncs {
		fs := feature.NewStore(storeLogger)
		feed(fs.UntypedStore, feature.FlagsConfigName)
		return ctxFuncs{
			apis.AllowDifferentNamespace,
			func(ctx context.Context) context.Context { return apis.AllowDifferentNamespace(fs.ToContext(ctx)) },
		}
	},
}, {
	// eventing cmd/webhook/main.go: defaults, channel and feature stores; validation adds the
	// ping store and sinks.WithConfig{KubeClient}; both decode strictly.
	name: "validation.webhook.eventing.knative.dev", namespace: "knative-eventing",
	types: map[schema.GroupVersionKind]resourcesemantics.GenericCRD{
		pingv1beta2.SchemeGroupVersion.WithKind("PingSource"): &pingv1beta2.PingSource{},
		pingv1.SchemeGroupVersion.WithKind("PingSource"):      &pingv1.PingSource{},
	},
	disallowUnknownDefault: true, disallowUnknownValid: true,
	stores: func(feed feeder, kube context.Context) ctxFuncs {
		s, cs := eventingconfig.NewStore(storeLogger), channelconfig.NewStore(storeLogger)
		ps, fs := pingconfig.NewStore(storeLogger), feature.NewStore(storeLogger)
		feed(s.UntypedStore, eventingconfig.DefaultsConfigName)
		feed(cs.UntypedStore, channelconfig.ChannelDefaultsConfigName)
		feed(ps.UntypedStore, pingconfig.PingDefaultsConfigName)
		feed(fs.UntypedStore, feature.FlagsConfigName)
		k8s := kubeclient.Get(kube)
		return ctxFuncs{
			func(ctx context.Context) context.Context { return fs.ToContext(cs.ToContext(s.ToContext(ctx))) },
			func(ctx context.Context) context.Context {
				return sinks.WithConfig(fs.ToContext(cs.ToContext(ps.ToContext(s.ToContext(ctx)))),
					&sinks.Config{KubeClient: k8s})
			},
		}
	},
}}

// shipped is the data of the installed ConfigMaps whose constructors reject empty data, as the
// eventing-core release ships them (eventing config/core/configmaps/default-broker.yaml and
// default-channel.yaml, knative-v1.23.0). Every other ConfigMap ships with only _example data,
// i.e. empty. A case's "configMaps" entry replaces the whole data of that ConfigMap.
var shipped = map[string]map[string]string{
	eventingconfig.DefaultsConfigName: {"default-br-config": `clusterDefault:
  brokerClass: MTChannelBasedBroker
  apiVersion: v1
  kind: ConfigMap
  name: config-br-default-channel
  namespace: knative-eventing
  delivery:
    retry: 10
    backoffPolicy: exponential
    backoffDelay: PT0.2S
`},
	channelconfig.ChannelDefaultsConfigName: {"default-ch-config": `clusterDefault:
  apiVersion: messaging.knative.dev/v1
  kind: InMemoryChannel
namespaceDefaults:
  some-namespace:
    apiVersion: messaging.knative.dev/v1
    kind: InMemoryChannel
`},
}

// storeLogger turns the stores' Fatalf (a ConfigMap their constructor rejects) into a panic,
// which admitCheck reports for the case instead of exiting.
var storeLogger = zap.NewNop().WithOptions(zap.WithFatalHook(zapcore.WriteThenPanic)).Sugar()

// build makes the webhook's two admission controllers once, on fake injection clients; their
// withContext reads w.current, which admitCheck sets per case.
func (w *admissionWebhook) build() {
	os.Setenv("SYSTEM_NAMESPACE", w.namespace) // read by the namespaced secret informer and filters
	ctx := logging.WithLogger(context.Background(), zap.NewNop().Sugar())
	ctx, _ = injection.Fake.SetupInformers(ctx, &rest.Config{})
	ctx = webhook.WithOptions(ctx, webhook.Options{SecretName: "webhook-certs"})
	def := defaulting.NewAdmissionController(ctx, "defaulting", "/defaulting", w.types,
		func(c context.Context) context.Context { return w.current.defaulting(c) }, w.disallowUnknownDefault)
	val := validation.NewAdmissionController(ctx, w.name, "/resource-validation", w.types,
		func(c context.Context) context.Context { return w.current.validation(c) }, w.disallowUnknownValid, w.callbacks)
	w.defaulter = def.Reconciler.(webhook.AdmissionController)
	w.checker = val.Reconciler.(webhook.AdmissionController)
	w.kube = ctx
}

func admitCheck(raw json.RawMessage) (ans any, err error) {
	var c struct {
		ID         string                       `json:"id"`
		Object     map[string]any               `json:"object"`
		ConfigMaps map[string]map[string]string `json:"configMaps"`
		User       string                       `json:"user"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	if c.Object == nil {
		return nil, fmt.Errorf("no object")
	}
	apiVersion, _ := c.Object["apiVersion"].(string)
	kind, _ := c.Object["kind"].(string)
	gvk := schema.FromAPIVersionAndKind(apiVersion, kind)
	var w *admissionWebhook
	for _, cand := range admissionWebhooks {
		if cand.types[gvk] != nil {
			w = cand
		}
	}
	if w == nil {
		return nil, fmt.Errorf("no Knative webhook handled here admits %s %s", apiVersion, kind)
	}
	defer func() {
		if p := recover(); p != nil {
			ans, err = nil, fmt.Errorf("upstream code panicked: %v", p)
		}
	}()
	if w.kube == nil {
		w.build()
	}
	used := map[string]bool{}
	w.current = w.stores(func(s *configmap.UntypedStore, names ...string) {
		for _, n := range names {
			used[n] = true
			data, ok := c.ConfigMaps[n]
			if !ok {
				data = shipped[n]
			}
			s.OnConfigChanged(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: w.namespace},
				Data: data})
		}
	}, w.kube)
	for n := range c.ConfigMaps {
		if !used[n] {
			return nil, fmt.Errorf("ConfigMap %q is not read by %s", n, w.name)
		}
	}

	// The API server fills metadata.namespace from the request; kubectl sends "default".
	meta, _ := c.Object["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		c.Object["metadata"] = meta
	}
	if ns, _ := meta["namespace"].(string); ns == "" {
		meta["namespace"] = "default"
	}
	name, _ := meta["name"].(string)
	obj, err := json.Marshal(c.Object)
	if err != nil {
		return nil, err
	}
	user := c.User
	if user == "" {
		user = "kubernetes-admin"
	}
	req := &admissionv1.AdmissionRequest{
		UID:       "00000000-0000-0000-0000-000000000000",
		Kind:      metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind},
		Resource:  metav1.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: strings.ToLower(gvk.Kind) + "s"},
		Name:      name,
		Namespace: meta["namespace"].(string),
		Operation: admissionv1.Create,
		UserInfo:  authenticationv1.UserInfo{Username: user, Groups: []string{"system:authenticated"}},
		Object:    runtime.RawExtension{Raw: obj},
	}
	out := map[string]any{"id": c.ID, "kind": gvk.Kind, "apiVersion": apiVersion, "webhook": w.name,
		"defaulted": nil, "errors": nil}
	deny := func(r *admissionv1.AdmissionResponse) (any, error) {
		msg := ""
		if r.Result != nil {
			msg = r.Result.Message
		}
		out["denied"] = msg
		out["errors"] = strings.TrimPrefix(msg, "validation failed: ")
		if len(r.Warnings) > 0 {
			out["warnings"] = r.Warnings
		}
		return out, nil
	}

	// Mutating webhook: a JSON patch against the object as sent.
	ctx := logging.WithLogger(context.Background(), zap.NewNop().Sugar())
	r := w.defaulter.Admit(ctx, req)
	if !r.Allowed {
		return deny(r)
	}
	patch, err := jsonpatch.DecodePatch(r.Patch)
	if err != nil {
		return nil, fmt.Errorf("defaulting patch: %w", err)
	}
	if obj, err = patch.Apply(obj); err != nil {
		return nil, fmt.Errorf("defaulting patch: %w", err)
	}
	out["defaulted"] = json.RawMessage(obj)

	// Validating webhook: sees the mutated object.
	req.Object = runtime.RawExtension{Raw: obj}
	if r = w.checker.Admit(ctx, req); !r.Allowed {
		return deny(r)
	}
	if len(r.Warnings) > 0 {
		out["warnings"] = r.Warnings
	}
	return out, nil
}
