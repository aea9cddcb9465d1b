/**
 * The pods the NetworkPolicies are evaluated against: the workloads of platform/, the
 * revision pods of the Knative Services, and the pods and hosts outside the namespace.
 */
import { type K8sObject, dig } from '../../cli/manifests/index.ts';
import type { Endpoint } from './network-policies.ts';
import { asArray, containersOf, podTemplateOf, stringMap } from './pods.ts';

/** The pods the workloads among `objects` run (one per workload), from their templates. */
export function workloadPods(objects: K8sObject[]): Endpoint[] {
  return objects.flatMap((object) => {
    const template = podTemplateOf(object);
    if (!template) return [];
    const ports: Record<string, number> = {};
    for (const { container } of containersOf(template.spec)) {
      for (const p of asArray(container['ports'])) {
        const name = dig(p, 'name');
        const number = dig(p, 'containerPort');
        if (typeof name === 'string' && typeof number === 'number') ports[name] = number;
      }
    }
    const endpoint: Endpoint = { name: object.metadata.name, labels: template.labels, ports };
    if (object.metadata.namespace !== undefined) endpoint.namespace = object.metadata.namespace;
    return [endpoint];
  });
}

/**
 * The revision pods of the Knative Services among `objects`: the template's labels plus the
 * labels Knative adds (serving.knative.dev/service, …/configuration).
 */
export function knativeFunctionPods(objects: K8sObject[]): Endpoint[] {
  return objects
    .filter((o) => o.apiVersion === 'serving.knative.dev/v1' && o.kind === 'Service')
    .map((o) => {
      const endpoint: Endpoint = {
        name: o.metadata.name,
        labels: {
          ...stringMap(dig(o, 'spec', 'template', 'metadata', 'labels')),
          'serving.knative.dev/service': o.metadata.name,
          'serving.knative.dev/configuration': o.metadata.name,
        },
        ports: { 'user-port': 8080, 'queue-port': 8012, 'http-autometric': 9090 },
      };
      if (o.metadata.namespace !== undefined) endpoint.namespace = o.metadata.namespace;
      return endpoint;
    });
}

/**
 * The pods of other namespaces the pipeline talks to, with the labels their releases give
 * them (Knative Serving, Kourier, Eventing Kafka, KEDA, CoreDNS), plus a pod of an unrelated
 * namespace and hosts outside the pod network.
 */
export const externalEndpoints = {
  activator: { name: 'knative-serving/activator', namespace: 'knative-serving', labels: { app: 'activator', role: 'activator' } },
  autoscaler: { name: 'knative-serving/autoscaler', namespace: 'knative-serving', labels: { app: 'autoscaler' } },
  kourierGateway: { name: 'kourier-system/3scale-kourier-gateway', namespace: 'kourier-system', labels: { app: '3scale-kourier-gateway' } },
  sourceDispatcher: {
    name: 'knative-eventing/kafka-source-dispatcher',
    namespace: 'knative-eventing',
    labels: { app: 'kafka-source-dispatcher', 'app.kubernetes.io/component': 'kafka-dispatcher' },
  },
  kafkaController: { name: 'knative-eventing/kafka-controller', namespace: 'knative-eventing', labels: { app: 'kafka-controller', 'app.kubernetes.io/component': 'kafka-controller' } },
  sinkReceiver: { name: 'knative-eventing/kafka-sink-receiver', namespace: 'knative-eventing', labels: { app: 'kafka-sink-receiver' } },
  pingAdapter: { name: 'knative-eventing/pingsource-mt-adapter', namespace: 'knative-eventing', labels: { 'eventing.knative.dev/source': 'ping-source-controller', 'sources.knative.dev/role': 'adapter' } },
  kedaOperator: { name: 'keda/keda-operator', namespace: 'keda', labels: { app: 'keda-operator', name: 'keda-operator' } },
  kedaMetricsServer: { name: 'keda/keda-operator-metrics-apiserver', namespace: 'keda', labels: { app: 'keda-operator-metrics-apiserver' } },
  kubeDns: { name: 'kube-system/coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
  otherPod: { name: 'default/some-pod', namespace: 'default', labels: { app: 'some-pod' } },
  internet: { name: 'internet client', ip: '203.0.113.7' },
  node: { name: 'a node (NodePort)', ip: '172.18.0.2' },
  apiServer: { name: 'kube-apiserver', ip: '172.18.0.3' },
} satisfies Record<string, Endpoint>;
