/**
 * Release manifests rebuilt from the upstream sources at the pinned versions, for the
 * checks that keda/releases.yaml's patches fit what the cluster really gets. The release
 * files are `ko resolve -Rf <dir>` of these folders (eventing-kafka-broker
 * hack/control-plane.sh, hack/data-plane.sh); images stay `ko://` references. Serving's
 * config-network comes from knative.dev/networking, which serving-core.yaml includes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type K8sObject, parseObjects } from '../../cli/manifests/index.ts';
import { moduleDir, yamlFiles } from './modules.ts';

const EVENTING_KAFKA = 'knative.dev/eventing-kafka-broker';

export type RebuiltRelease = 'eventing-kafka-controller' | 'eventing-kafka-source' | 'serving-core';

function sources(release: RebuiltRelease): string[] {
  switch (release) {
    case 'eventing-kafka-controller':
      return yamlFiles(join(moduleDir('knative', EVENTING_KAFKA), 'control-plane', 'config', 'eventing-kafka-broker'));
    case 'eventing-kafka-source':
      return yamlFiles(join(moduleDir('knative', EVENTING_KAFKA), 'data-plane', 'config', 'source'));
    case 'serving-core':
      return [join(moduleDir('knative', 'knative.dev/networking'), 'config', 'config-network.yaml')];
  }
}

/** The release's text: its files joined as one multi-document YAML. */
export function releaseText(release: RebuiltRelease): string {
  return sources(release)
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n---\n');
}

export function releaseObjects(release: RebuiltRelease): K8sObject[] {
  return parseObjects(releaseText(release), release);
}
