/**
 * The Kubernetes manifests against the code: every environment variable a service reads (its
 * list, `serviceEnv` in core/src/service) is set in its Deployment, and nothing else is; probes
 * hit /healthz and /readyz on the port the service listens on; the kustomization lists every
 * resource file. The compose file is checked in deploy-compose.test.ts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ENV } from '@tollgate/core/config';
import {
  ROOT,
  BASE,
  SERVICES,
  startCommandOf,
  envReadBy,
  isObj,
  obj,
  arr,
  str,
  resourceFiles,
  resources,
  generatorFiles,
  dataOf,
  containerOf,
  portOf,
  WRITABLE_PATHS,
  under,
  composeService,
  composeEnv,
} from '@tollgate/testkit/deploy-manifests';

describe('service lists', () => {
  it.each(SERVICES)('$name lists only variables defined in core/src/config/env.ts, each once', ({ env }) => {
    const names = env.vars.map((v) => v.name);
    expect(names.filter((n) => !(n in ENV))).toEqual([]);
    expect(new Set(names).size).toBe(names.length);
  });

  it('each service listens on a port of its own by default, so that they run side by side on one machine', () => {
    const ports = SERVICES.flatMap(({ env }) => env.vars.filter((v) => v.name === 'PORT' || v.name === 'METRICS_PORT').map((v) => v.fallback));
    expect(new Set(ports).size, `default ports ${ports.join(', ')}`).toBe(ports.length);
  });

  it.each(SERVICES)('$name: its default PORT is the port its Deployment and compose service set', ({ name, env }) => {
    const own = String(env.vars.find((v) => v.name === 'PORT')?.fallback);
    expect(containerOf(name).env.get('PORT')).toBe(own);
    expect(composeEnv(composeService(name), name).get('PORT')).toBe(own);
  });
});

describe('kustomize base', () => {
  it('lists every resource file in the folder, and every listed file exists', () => {
    const yamlFiles = readdirSync(BASE).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
    const used = new Set([...resourceFiles, ...generatorFiles]);
    expect(yamlFiles.filter((f) => !used.has(f)).sort(), 'YAML files in the base that the kustomization does not use').toEqual([]);
    for (const file of used) expect(existsSync(join(BASE, file)), `${file} exists`).toBe(true);
    for (const file of resourceFiles) expect(generatorFiles.has(file), `${file} is a resource, not generator input`).toBe(false);
  });

  it('has a Deployment for each of the four services, running its main.ts from the tollgate image', () => {
    for (const { name, workspace } of SERVICES) {
      const container = containerOf(name);
      expect(container.command).toEqual(startCommandOf(workspace));
    }
    for (const deployment of resources.filter((r) => r.kind === 'Deployment')) {
      const pod = obj(obj(obj(deployment.spec, 'spec').template, 'template').spec, 'pod');
      for (const c of arr(pod.containers, 'containers')) expect(obj(c, 'container').image).toBe('tollgate:latest');
    }
  });

  it('the TOLLGATE_CONFIG ConfigMap holds deploy/config/tollgate.yaml (meters and cost rules included)', () => {
    const shipped: unknown = parse(readFileSync(join(ROOT, 'deploy/config/tollgate.yaml'), 'utf8'));
    const inBase: unknown = parse(dataOf('ConfigMap', 'tollgate-config').get('tollgate.yaml') ?? '');
    expect(inBase).toEqual(shipped);
    expect(obj(inBase, 'config')).toHaveProperty('meters');
    expect(obj(inBase, 'config')).toHaveProperty('routes');
  });

  it('admin tokens and connection URLs come from Secrets, not literals', () => {
    for (const { name, env: list } of SERVICES) {
      const read = envReadBy(list);
      const deployment = resources.find((r) => r.kind === 'Deployment' && obj(r.metadata, 'metadata').name === name);
      const pod = obj(obj(obj(obj(deployment, name).spec, 'spec').template, 'template').spec, 'pod');
      const container = arr(pod.containers, 'containers').map((c) => obj(c, 'container')).find((c) => c.name === name);
      const env = arr(obj(container, name).env, 'env').map((e) => obj(e, 'env[]'));
      for (const secret of ['ADMIN_TOKENS', 'AUTHORIZE_TOKENS', 'JWT_SECRET', 'VALKEY_URL', 'KAFKA_BROKERS', 'CLICKHOUSE_URL'].filter((n) => read.includes(n))) {
        const entry = env.find((e) => e.name === secret);
        expect(isObj(entry?.valueFrom) && isObj(entry.valueFrom.secretKeyRef), `${name}: ${secret} from a Secret`).toBe(true);
      }
    }
  });

  describe.each(SERVICES)('$name', ({ name, env: list }) => {
    it('sets every variable the service reads, and nothing else', () => {
      const container = containerOf(name);
      expect([...container.env.keys()].sort()).toEqual(envReadBy(list));
    });

    it('probes GET /healthz (liveness) and GET /readyz (readiness) on the port it listens on', () => {
      const container = containerOf(name);
      const port = portOf(container);
      expect([...container.ports.values()], 'the container port is PORT').toContain(port);
      for (const [probe, path] of [['liveness', '/healthz'], ['readiness', '/readyz']] as const) {
        const httpGet = obj(container.probes[probe]?.httpGet, `${name} ${probe}Probe.httpGet`);
        expect(httpGet.path, `${name} ${probe} path`).toBe(path);
        expect(container.ports.get(String(httpGet.port)), `${name} ${probe} port`).toBe(port);
      }
    });

    it('has CPU and memory requests and limits', () => {
      const { resources: r } = containerOf(name);
      for (const section of ['requests', 'limits']) {
        const values = obj(r[section], `${name} resources.${section}`);
        expect(values.cpu, `${name} ${section}.cpu`).toBeDefined();
        expect(values.memory, `${name} ${section}.memory`).toBeDefined();
      }
    });

    it('mounts TOLLGATE_CONFIG from the ConfigMap and keeps the paths it writes on a writable volume', () => {
      const container = containerOf(name);
      const configPath = container.env.get('TOLLGATE_CONFIG');
      if (container.env.has('TOLLGATE_CONFIG')) {
        const mount = container.volumeMounts.find((m) => {
          const volume = container.volumes.get(m.name);
          const configMap = isObj(volume?.configMap) ? volume.configMap : undefined;
          if (configMap?.name !== 'tollgate-config') return false;
          return m.subPath ? m.mountPath === configPath : `${m.mountPath.replace(/\/$/, '')}/tollgate.yaml` === configPath;
        });
        expect(mount, `${name}: ${String(configPath)} is the tollgate-config ConfigMap's tollgate.yaml`).toBeDefined();
      }
      for (const variable of WRITABLE_PATHS.filter((v) => container.env.has(v))) {
        const path = str(container.env.get(variable), `${name} ${variable}`);
        const writable = container.volumeMounts.some((m) => !m.readOnly && under(path, m.mountPath));
        expect(writable, `${name}: ${variable}=${path} is on a writable volume`).toBe(true);
      }
    });
  });

  it.each(['gateway', 'quota-sidecar'])('Service %s selects its pods and targets the container port', (name) => {
    const service = resources.find((r) => r.kind === 'Service' && obj(r.metadata, 'metadata').name === name);
    const spec = obj(obj(service, `Service ${name}`).spec, `Service ${name}.spec`);
    const container = containerOf(name);
    for (const [key, value] of Object.entries(obj(spec.selector, 'selector'))) expect(container.podLabels[key], `selector ${key}`).toBe(value);
    const ports = arr(spec.ports, 'ports').map((p) => obj(p, 'port'));
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect(container.ports.get(String(port.targetPort ?? port.port))).toBe(portOf(container));
  });
});
