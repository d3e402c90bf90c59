import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { exampleFile, loadConfigObject, readYamlDocuments } from './helpers';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const docs = readYamlDocuments('kubernetes', 'deployment.yaml') as Obj[];
const configMap = docs.find((d) => d.kind === 'ConfigMap')!;
const deployment = docs.find((d) => d.kind === 'Deployment')!;
const pod = deployment.spec.template as Obj;
const container = pod.spec.containers[0] as Obj;
const config = parseYaml(configMap.data['workers.yaml'] as string) as Obj;
// The image is built from examples/docker: its app.js is the script the ConfigMap names.
const TOKEN = 'from-the-secret';
const settings = loadConfigObject(config, 'ConfigMap myapp-smartworkers', exampleFile('docker'), { SMARTWORKERS_STATUS_TOKEN: TOKEN });
const app = settings.apps[0];
const statusPort = Number(/:(\d+)$/.exec(settings.statusListen!)![1]);
const portNamed = (name: string): number => (container.ports as Obj[]).find((p) => p.name === name)!.containerPort as number;

describe('examples/kubernetes', () => {
  it('holds a ConfigMap with workers.yaml and a Deployment that uses it', () => {
    expect(docs.map((d) => `${d.apiVersion} ${d.kind}`)).toEqual(['v1 ConfigMap', 'apps/v1 Deployment']);
    const mount = (container.volumeMounts as Obj[])[0];
    const volume = (pod.spec.volumes as Obj[]).find((v) => v.name === mount.name)!;
    expect(volume.configMap.name).toBe(configMap.metadata.name);
    expect(container.command).toEqual(['node', 'node_modules/smartworkers/bin/smartworkers', 'start', '--config', `${mount.mountPath}/workers.yaml`]);
    expect(deployment.spec.selector.matchLabels).toEqual(pod.metadata.labels);
  });

  it('probes /readyz and /healthz on the status port', () => {
    expect(portNamed('status')).toBe(statusPort);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'status' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'status' });
    expect(container.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'status' });
    expect(portNamed('http')).toBe(Number(app.env.PORT));
  });

  it('lets the pod drain: terminationGracePeriodSeconds above preStop + graceful_timeout', () => {
    const preStop = container.lifecycle.preStop.exec.command as string[];
    expect(preStop[0]).toBe('sleep');
    const preStopMs = Number(preStop[1]) * 1000;
    const graceMs = Number(pod.spec.terminationGracePeriodSeconds) * 1000;
    expect(app.gracefulTimeout).toBe(30_000);
    expect(graceMs).toBeGreaterThan(preStopMs + app.gracefulTimeout);
    expect(app.maxTaskWait).toBeLessThanOrEqual(app.gracefulTimeout);
    // A rolling update never lowers capacity: one new pod first, none taken away before it is ready.
    expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
  });

  it('is scraped by Prometheus on the status port', () => {
    expect(pod.metadata.annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(statusPort),
      'prometheus.io/path': '/metrics',
    });
  });

  it('listens for probes beyond loopback, with the status token from a Secret', () => {
    expect(settings.statusListen).toMatch(/^0\.0\.0\.0:/);
    expect(config.status.token).toBeUndefined();
    expect(settings.statusToken).toBe(TOKEN);
    const token = (container.env as Obj[]).find((e) => e.name === 'SMARTWORKERS_STATUS_TOKEN')!;
    expect(token.valueFrom.secretKeyRef).toEqual({ name: 'myapp-smartworkers', key: 'status-token' });
  });
});
