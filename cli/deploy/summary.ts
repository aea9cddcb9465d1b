/** What `make deploy` prints at the end: the function URLs, where the credentials are, how to reach it. */
import type { Action, Cluster, Host } from './steps.ts';

export function printSummary(action: Extract<Action, { type: 'summary' }>, access: Awaited<ReturnType<Cluster['access']>>, host: Host): void {
  const ns = action.namespace;
  const lines: string[] = ['', `big-data-pipeline is deployed in namespace ${ns}`, '', '  functions (kubectl get ksvc -n ' + ns + '):'];
  for (const s of action.services) {
    const live = access.services.find((a) => a.name === s.name);
    lines.push(`    ${s.name.padEnd(18)} ${(live?.url ?? '(no URL yet)').padEnd(64)} ${s.visibility}${live && !live.ready ? '  NOT READY' : ''}`);
  }
  lines.push('', '  credentials (generated once, random; never printed here):');
  for (const secret of action.secrets) {
    const key = secret.keys.find((k) => k.includes('password')) ?? secret.keys[0]!;
    lines.push(`    ${secret.name.padEnd(26)} {${secret.keys.join(', ')}}   kubectl -n ${ns} get secret ${secret.name} -o jsonpath='{.data.${key}}' | base64 -d`);
  }
  const generate = action.services.find((s) => s.visibility === 'public');
  const url = generate && access.services.find((a) => a.name === generate.name)?.url;
  const host_ = url ? new URL(url).host : generate ? `${generate.name}.${ns}.<domain>` : undefined;
  const ce = `-H 'ce-specversion: 1.0' -H 'ce-type: dev.bigdatapipeline.generate.request.v1' -H 'ce-source: /curl' -H "ce-id: $(date +%s%N)" -H "ce-time: $(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" -H 'content-type: application/json' -d '{"count": 100}'`;
  if (host_) {
    lines.push('', '  try it through Kourier:');
    const k = access.kourier;
    if (k?.loadBalancer) lines.push(`    curl -i -H "Host: ${host_}" http://${k.loadBalancer} ${ce}`);
    if (k?.nodePort && k.nodeAddress) lines.push(`    curl -i -H "Host: ${host_}" http://${k.nodeAddress}:${k.nodePort} ${ce}`);
    lines.push(
      '    # from anywhere kubectl works (kind on macOS, remote clusters):',
      '    kubectl -n kourier-system port-forward svc/kourier 8080:80 &',
      `    curl -i -H "Host: ${host_}" http://127.0.0.1:8080 ${ce}`,
    );
  }
  lines.push(
    '',
    '  cluster-local functions: make curl-local FN=enrich   (a port-forward to svc/kourier-internal with the Host header)',
    `  consoles: make port-forward   (${action.consoles.map((c) => c.name).join(', ') || 'the platform Services'})`,
    '  more: make status · make logs FN=enrich · make watch TARGET=cluster · make load TARGET=cluster',
    '',
  );
  for (const line of lines) host.log(line);
}
