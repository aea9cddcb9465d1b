/**
 * Elasticsearch and Kibana in platform/: settings, the setup Job and its script (against a
 * stand-in curl), and how Kibana logs in and imports its saved objects.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { platformDir, base, knative, named, configMapNamed, containerOf, ksvcContainer, envOf } from './fixtures.ts';
import { setupFiles } from '../../platform/elasticsearch/render.ts';
import { workloadContainers } from './pods.ts';
import { secretReferences } from './secrets.ts';

describe('Elasticsearch and Kibana', () => {
  it('security on, no mmap, heap set, bootstrap password from elasticsearch-superuser', () => {
    const settings = parseYaml(String((configMapNamed(base, 'elasticsearch-config')['data'] as Record<string, string>)['elasticsearch.yml']));
    expect(settings).toMatchObject({
      'discovery.type': 'single-node',
      'xpack.security.enabled': true,
      'xpack.security.http.ssl.enabled': false,
      'node.store.allow_mmap': false,
    });
    const es = containerOf(base, 'StatefulSet', 'elasticsearch');
    expect(envOf(es)['ES_JAVA_OPTS']).toBe('-Xms512m -Xmx512m');
    expect(secretReferences([named(base, 'StatefulSet', 'elasticsearch')])).toEqual([{ secret: 'elasticsearch-superuser', key: 'password' }]);
    // No privileged sysctl init container: the only init container copies the config.
    expect(workloadContainers([named(base, 'StatefulSet', 'elasticsearch')]).filter((c) => c.init).map((c) => c.container['name'])).toEqual(['config']);
  });

  it('the setup Job grants the pipeline user exactly the indices knative/ uses', () => {
    const indices = new Set<string>();
    for (const ksvc of knative.filter((o) => o.kind === 'Service')) {
      const env = envOf(ksvcContainer(ksvc));
      for (const key of ['EVENTS_INDEX', 'AGGREGATES_INDEX', 'FINALS_INDEX']) if (env[key]) indices.add(env[key]);
    }
    expect([...indices].sort()).toEqual(['events', 'events-aggregated', 'window-finals']);
    const granted = envOf(containerOf(base, 'Job', 'elasticsearch-setup'))['PIPELINE_INDICES']!.split(',').sort();
    expect(granted).toEqual([...indices].sort());
  });

  describe('setup.sh, against a stand-in curl', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bdp-es-setup-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    // Records method, path and body of each call; answers 200.
    writeFileSync(
      join(dir, 'curl'),
      `#!/usr/bin/env bash
out=""; method=GET; url=""; body=""
while (($#)); do
  case $1 in
    -o) out=$2; shift ;;
    -X) method=$2; shift ;;
    --data-binary) body=$2; shift ;;
    -w|-u|-H) shift ;;
    --cacert) echo "$2" >> "$CALLS.ca"; shift ;;
    -*) ;;
    *) url=$1 ;;
  esac
  shift
done
if [[ $method != GET ]]; then printf '%s %s %s\\n' "$method" "\${url#http://es:9200}" "$(tr -d '\\n' <<< "$body")" >> "$CALLS"; fi
answer='{}'; [[ $url == */_settings* && -n \${SETTINGS_ANSWER:-} ]] && answer=$SETTINGS_ANSWER
[[ -n $out && $out != /dev/null ]] && echo "$answer" > "$out"
printf 200
`,
    );
    chmodSync(join(dir, 'curl'), 0o755);
    const start = (env: Record<string, string>) => {
      const calls = join(dir, 'calls');
      writeFileSync(calls, '');
      const result = spawnSync('bash', [join(platformDir, 'elasticsearch', 'setup.sh')], {
        env: { PATH: `${dir}:${process.env['PATH'] ?? ''}`, TMPDIR: dir, CALLS: calls, ELASTICSEARCH_URL: 'http://es:9200', PIPELINE_INDICES: 'events,events-aggregated,window-finals', EVENTS_INDEX: 'events', ...env },
        encoding: 'utf8',
      });
      return { result, calls };
    };
    const run = (env: Record<string, string>) => {
      const { result, calls } = start(env);
      expect(result.status, result.stderr).toBe(0);
      return readFileSync(calls, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [method, path, ...body] = line.split(' ');
          return { method, path, body: JSON.parse(body.join(' ')) as unknown };
        });
    };

    // The policy first, then the templates in the order of their files (bash's glob sorts them).
    const files = Object.entries(setupFiles()).sort(([a], [b]) => Number(b.startsWith('ilm-')) - Number(a.startsWith('ilm-')) || a.localeCompare(b, 'en'));
    const retentionAndTemplates = files.map(([file, body]) => ({
      method: 'PUT',
      path: file.startsWith('ilm-policy-') ? `/_ilm/policy/${file.slice('ilm-policy-'.length, -'.json'.length)}` : `/_index_template/${file.slice('index-template-'.length, -'.json'.length)}`,
      body,
    }));

    it('sets kibana_system’s password, the retention policy, the templates, the role and the user, with valid JSON even for odd passwords', () => {
      const calls = run({ ELASTIC_PASSWORD: 'root', KIBANA_SYSTEM_PASSWORD: 'k"b\\1', PIPELINE_USERNAME: 'big-data-pipeline', PIPELINE_PASSWORD: 'p"w' });
      expect(calls).toEqual([
        { method: 'POST', path: '/_security/user/kibana_system/_password', body: { password: 'k"b\\1' } },
        ...retentionAndTemplates,
        {
          method: 'PUT',
          path: '/_security/role/big-data-pipeline',
          body: {
            cluster: ['monitor', 'manage_index_templates'],
            indices: [{ names: ['events', 'events-aggregated', 'window-finals', 'events-*'], privileges: ['create_index', 'write', 'read', 'view_index_metadata', 'maintenance', 'monitor'] }],
          },
        },
        {
          method: 'PUT',
          path: '/_security/user/big-data-pipeline',
          body: { password: 'p"w', roles: ['big-data-pipeline'], full_name: 'big-data-pipeline functions, dashboard and exporter' },
        },
      ]);
    });

    it('gives every index template ELASTICSEARCH_REPLICAS replicas when it is set (the production overlay sets 1)', () => {
      const base = { ELASTIC_PASSWORD: 'root', KIBANA_SYSTEM_PASSWORD: 'k', PIPELINE_USERNAME: 'elastic', PIPELINE_PASSWORD: 'root' };
      const replicasOf = (calls: { path?: string; body: unknown }[]) =>
        calls.filter((c) => c.path?.startsWith('/_index_template/')).map((c) => (c.body as { template: { settings: { number_of_replicas: number } } }).template.settings.number_of_replicas);
      const templates = retentionAndTemplates.filter((c) => c.path.startsWith('/_index_template/')).length;
      expect(templates).toBe(3);
      expect(replicasOf(run(base))).toEqual([0, 0, 0]);
      expect(replicasOf(run({ ...base, ELASTICSEARCH_REPLICAS: '1' }))).toEqual([1, 1, 1]);
      const { result } = start({ ...base, ELASTICSEARCH_REPLICAS: 'one' });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain("ELASTICSEARCH_REPLICAS must be 0-9, got 'one'");
    });

    it('trusts ELASTICSEARCH_CA_FILE on every call when it is set (the production overlay), and nothing special otherwise', () => {
      const ca = join(dir, 'calls.ca');
      writeFileSync(ca, '');
      run({ ELASTIC_PASSWORD: 'root', KIBANA_SYSTEM_PASSWORD: 'k', PIPELINE_USERNAME: 'elastic', PIPELINE_PASSWORD: 'root' });
      expect(readFileSync(ca, 'utf8')).toBe('');
      run({ ELASTIC_PASSWORD: 'root', KIBANA_SYSTEM_PASSWORD: 'k', PIPELINE_USERNAME: 'elastic', PIPELINE_PASSWORD: 'root', ELASTICSEARCH_CA_FILE: '/etc/elasticsearch-tls/ca.crt' });
      // The health wait, the check for an events index and every call.
      expect(readFileSync(ca, 'utf8').trim().split('\n')).toEqual(Array.from({ length: 3 + retentionAndTemplates.length }, () => '/etc/elasticsearch-tls/ca.crt'));
    });

    it('creates no user when the Secret names elastic itself', () => {
      const calls = run({ ELASTIC_PASSWORD: 'root', KIBANA_SYSTEM_PASSWORD: 'k', PIPELINE_USERNAME: 'elastic', PIPELINE_PASSWORD: 'root' });
      expect(calls.map((c) => c.path)).toEqual(['/_security/user/kibana_system/_password', ...retentionAndTemplates.map((c) => c.path)]);
    });

    it('puts nothing when events is an index where the alias over the daily indices must be', () => {
      const env = { ELASTIC_PASSWORD: 'root', KIBANA_SYSTEM_PASSWORD: 'k', PIPELINE_USERNAME: 'big-data-pipeline', PIPELINE_PASSWORD: 'p' };
      const { result, calls } = start({ ...env, SETTINGS_ANSWER: '{"events":{"settings":{"index":{"provided_name":"events"}}}}' });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('events is an index, but the pipeline needs the name for the alias');
      expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual([expect.stringMatching(/^POST \/_security\/user\/kibana_system\/_password /)]);
      // Through the alias, the daily indices answer under their own names.
      expect(start({ ...env, SETTINGS_ANSWER: '{"events-2026.01.15":{"settings":{"index":{"provided_name":"events-2026.01.15"}}}}' }).result.status).toBe(0);
    });

    it('puts the retention policy and the templates shared/elasticsearch.ts renders, all in the Job’s ConfigMap', () => {
      const data = configMapNamed(base, 'elasticsearch-setup')['data'] as Record<string, string>;
      for (const [file, body] of Object.entries(setupFiles())) {
        expect(JSON.parse(data[file] ?? 'null'), `${file}: run npx tsx platform/elasticsearch/render.ts`).toEqual(body);
      }
      expect(Object.keys(data).filter((k) => k.endsWith('.json')).sort()).toEqual(Object.keys(setupFiles()).sort());
      expect(envOf(containerOf(base, 'Job', 'elasticsearch-setup'))['EVENTS_INDEX']).toBe('events');
    });
  });

  it('Kibana logs in as kibana_system and imports the saved objects the supported way', () => {
    const kibana = containerOf(base, 'Deployment', 'kibana');
    expect(envOf(kibana)).toMatchObject({ ELASTICSEARCH_USERNAME: 'kibana_system', ELASTICSEARCH_HOSTS: 'http://elasticsearch.big-data-pipeline.svc.cluster.local:9200' });
    const script = (containerOf(base, 'Job', 'kibana-setup')['args'] as string[]).join('\n');
    expect(script).toContain('/api/saved_objects/_import?overwrite=true');
    expect(script).toContain("-H 'kbn-xsrf: true'");
    expect(script).toMatch(/--form file=@\/saved-objects\/[\w-]+\.ndjson/);
    const mount = (containerOf(base, 'Job', 'kibana-setup')['volumeMounts'] as { name: string; mountPath: string }[]).find((m) => m.mountPath === '/saved-objects');
    expect(mount).toBeDefined();
    const configMap = configMapNamed(base, 'kibana-saved-objects');
    expect(Object.keys(configMap['data'] as object)).toEqual(['saved-objects.ndjson']);
  });

});
