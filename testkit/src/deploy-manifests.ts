/**
 * The deployment manifests as the tests read them: the four services and the variables each
 * reads, the kustomize base resolved the way kustomize would for what the checks need (its
 * resources, ConfigMap and Secret data, each service's container), and the compose file. Read by
 * test/deploy-manifests.test.ts (the service lists and the kustomize base) and
 * test/deploy-compose.test.ts.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { expect } from 'vitest';
import type { ServiceEnv } from '@tollgate/core/service';
import { GATEWAY_ENV } from '@tollgate/gateway-plugin/env';
import { SIDECAR_ENV } from '@tollgate/quota-sidecar/env';
import { SINK_ENV } from '@tollgate/meter-sink/env';
import { SYNC_WORKER_ENV } from '@tollgate/sync-worker/env';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BASE = join(ROOT, 'deploy/kubernetes/base');
export const COMPOSE = join(ROOT, 'deploy/compose/compose.yaml');

/** Deployment / compose service name → workspace folder and the variables it reads. */
export const SERVICES: readonly { name: string; workspace: string; env: ServiceEnv }[] = [
  { name: 'gateway', workspace: 'gateway-plugin', env: GATEWAY_ENV },
  { name: 'quota-sidecar', workspace: 'quota-sidecar', env: SIDECAR_ENV },
  { name: 'meter-sink', workspace: 'meter-sink', env: SINK_ENV },
  { name: 'sync-worker', workspace: 'sync-worker', env: SYNC_WORKER_ENV },
];

/**
 * How a service is started: its workspace's `start` script (the one place its node flags are
 * written), run from the repository root.
 */
export const startCommandOf = (workspace: string): string[] => {
  const manifest = JSON.parse(readFileSync(join(ROOT, workspace, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const start = manifest.scripts?.start;
  if (!start) throw new Error(`${workspace}/package.json has no start script`);
  return start.split(/\s+/).map((part) => (part === 'src/main.ts' ? `${workspace}/src/main.ts` : part));
};

/** Every environment variable the service reads, sorted. */
export const envReadBy = (env: ServiceEnv): string[] => env.vars.map((v) => v.name).sort();

// ---------------------------------------------------------------------------------------------
// The kustomize base, resolved the way kustomize would for what these checks need.

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const obj = (v: unknown, what: string): Obj => {
  if (!isObj(v)) throw new Error(`${what}: expected a mapping`);
  return v;
};
export const arr = (v: unknown, what: string): unknown[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`${what}: expected a list`);
  return v;
};
export const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string') throw new Error(`${what}: expected a string, got ${JSON.stringify(v)}`);
  return v;
};

export const kustomization = obj(parse(readFileSync(join(BASE, 'kustomization.yaml'), 'utf8')), 'kustomization.yaml');
export const resourceFiles = arr(kustomization.resources, 'resources').map((r) => str(r, 'resources[]'));
export const resources: Obj[] = resourceFiles.flatMap((file) =>
  parseAllDocuments(readFileSync(join(BASE, file), 'utf8'))
    .map((doc) => doc.toJS() as unknown)
    .filter((v) => v !== null)
    .map((v) => obj(v, file)),
);

/** ConfigMap and Secret keys (and values) by name, from the resources and the generators. */
const configData = new Map<string, Map<string, string>>();
export const generatorFiles = new Set<string>();
const addData = (kind: string, name: string, key: string, value: string) => {
  const id = `${kind}/${name}`;
  const data = configData.get(id) ?? new Map<string, string>();
  data.set(key, value);
  configData.set(id, data);
};
for (const resource of resources) {
  const kind = resource.kind;
  if (kind !== 'ConfigMap' && kind !== 'Secret') continue;
  const name = str(obj(resource.metadata, 'metadata').name, `${kind}.metadata.name`);
  for (const field of ['data', 'stringData']) {
    const data = resource[field];
    if (data === undefined) continue;
    for (const [key, value] of Object.entries(obj(data, `${kind}/${name}.${field}`))) {
      addData(kind, name, key, field === 'data' && kind === 'Secret' ? Buffer.from(str(value, key), 'base64').toString() : String(value));
    }
  }
}
for (const [field, kind] of [['configMapGenerator', 'ConfigMap'], ['secretGenerator', 'Secret']] as const) {
  for (const entry of arr(kustomization[field], field)) {
    const generator = obj(entry, field);
    const name = str(generator.name, `${field}[].name`);
    for (const literal of arr(generator.literals, `${name}.literals`)) {
      const [key = '', ...rest] = str(literal, `${name}.literals[]`).split('=');
      addData(kind, name, key, rest.join('='));
    }
    for (const file of arr(generator.files, `${name}.files`)) {
      const spec = str(file, `${name}.files[]`);
      const [key, path] = spec.includes('=') ? (spec.split('=', 2) as [string, string]) : [basename(spec), spec];
      generatorFiles.add(path);
      addData(kind, name, key, readFileSync(join(BASE, path), 'utf8'));
    }
    for (const file of arr(generator.envs, `${name}.envs`)) {
      const path = str(file, `${name}.envs[]`);
      generatorFiles.add(path);
      for (const line of readFileSync(join(BASE, path), 'utf8').split('\n')) {
        const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
        if (match?.[1] !== undefined) addData(kind, name, match[1], match[2] ?? '');
      }
    }
  }
}
export const dataOf = (kind: 'ConfigMap' | 'Secret', name: string): Map<string, string> => {
  const data = configData.get(`${kind}/${name}`);
  if (!data) throw new Error(`${kind} ${name} is not in the kustomize base`);
  return data;
};

export interface Container {
  name: string;
  command: string[];
  env: Map<string, string | undefined>;
  ports: Map<string, number>;
  probes: { liveness: Obj | undefined; readiness: Obj | undefined };
  resources: Obj;
  volumeMounts: { name: string; mountPath: string; subPath?: string; readOnly: boolean }[];
  volumes: Map<string, Obj>;
  podLabels: Obj;
}

/** The service's container: its env resolved to names and, where known, values. */
export const containerOf = (service: string): Container => {
  const deployments = resources.filter((r) => r.kind === 'Deployment' && obj(r.metadata, 'metadata').name === service);
  expect(deployments, `one Deployment named ${service}`).toHaveLength(1);
  const [deployment] = deployments;
  const template = obj(obj(obj(deployment, service).spec, `${service}.spec`).template, `${service}.spec.template`);
  const pod = obj(template.spec, `${service} pod spec`);
  const containers = arr(pod.containers, `${service} containers`).map((c) => obj(c, `${service} container`));
  const container = containers.find((c) => c.name === service);
  if (!container) throw new Error(`Deployment ${service} has no container named ${service}`);
  const env = new Map<string, string | undefined>();
  const set = (name: string, value: string | undefined) => {
    if (env.has(name)) throw new Error(`${service}: ${name} is set twice`);
    env.set(name, value);
  };
  for (const from of arr(container.envFrom, `${service}.envFrom`).map((e) => obj(e, 'envFrom[]'))) {
    const prefix = typeof from.prefix === 'string' ? from.prefix : '';
    const [kind, ref] = from.configMapRef ? (['ConfigMap', from.configMapRef] as const) : (['Secret', from.secretRef] as const);
    for (const [key, value] of dataOf(kind, str(obj(ref, 'envFrom ref').name, 'envFrom ref name'))) set(prefix + key, value);
  }
  for (const entry of arr(container.env, `${service}.env`).map((e) => obj(e, 'env[]'))) {
    const name = str(entry.name, `${service} env name`);
    if (entry.valueFrom === undefined) {
      set(name, str(entry.value ?? '', `${service} ${name}`));
      continue;
    }
    const from = obj(entry.valueFrom, `${service} ${name}.valueFrom`);
    const [kind, ref] = from.configMapKeyRef ? (['ConfigMap', from.configMapKeyRef] as const) : (['Secret', from.secretKeyRef] as const);
    const keyRef = obj(ref, `${service} ${name}: valueFrom must be a configMapKeyRef or secretKeyRef`);
    const data = dataOf(kind, str(keyRef.name, `${service} ${name} ref name`));
    const key = str(keyRef.key, `${service} ${name} ref key`);
    expect(data.has(key), `${service}: ${name} refers to ${kind} ${String(keyRef.name)} key ${key}, which the base does not define`).toBe(true);
    set(name, data.get(key));
  }
  const ports = new Map<string, number>();
  for (const port of arr(container.ports, `${service}.ports`).map((p) => obj(p, 'ports[]'))) {
    const number = Number(port.containerPort);
    ports.set(String(number), number);
    if (typeof port.name === 'string') ports.set(port.name, number);
  }
  const volumes = new Map<string, Obj>();
  for (const volume of arr(pod.volumes, `${service} volumes`).map((v) => obj(v, 'volumes[]'))) volumes.set(str(volume.name, 'volume name'), volume);
  return {
    name: service,
    command: arr(container.command, `${service}.command`).map((c) => str(c, 'command[]')),
    env,
    ports,
    probes: {
      liveness: isObj(container.livenessProbe) ? container.livenessProbe : undefined,
      readiness: isObj(container.readinessProbe) ? container.readinessProbe : undefined,
    },
    resources: obj(container.resources ?? {}, `${service}.resources`),
    volumeMounts: arr(container.volumeMounts, `${service}.volumeMounts`).map((m) => {
      const mount = obj(m, 'volumeMounts[]');
      return {
        name: str(mount.name, 'mount name'),
        mountPath: str(mount.mountPath, 'mountPath'),
        ...(typeof mount.subPath === 'string' ? { subPath: mount.subPath } : {}),
        readOnly: mount.readOnly === true,
      };
    }),
    volumes,
    podLabels: obj(obj(template.metadata, 'template metadata').labels, 'pod labels'),
  };
};

export const portOf = (container: Container): number => {
  const port = Number(container.env.get('PORT'));
  expect(Number.isInteger(port) && port > 0, `${container.name}: PORT is a literal port number`).toBe(true);
  return port;
};

/** Directories written at the env paths lie on a writable volume (the root filesystem is read-only). */
export const WRITABLE_PATHS = ['SPOOL_DIR', 'EVENT_LOG_DIR', 'CLICKHOUSE_DATA_DIR'] as const;
export const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir.replace(/\/$/, '')}/`);

// ---------------------------------------------------------------------------------------------
// The compose file.

export const compose = obj(parse(readFileSync(COMPOSE, 'utf8')), 'compose.yaml');
export const composeServices = obj(compose.services, 'compose services');
export const composeService = (name: string): Obj => obj(composeServices[name], `compose service ${name}`);
export const composeEnv = (service: Obj, name: string): Map<string, string> => {
  const environment = service.environment;
  if (Array.isArray(environment)) {
    return new Map(
      environment.map((line) => {
        const [key = '', ...rest] = str(line, `${name} environment[]`).split('=');
        return [key, rest.join('=')] as const;
      }),
    );
  }
  return new Map(Object.entries(obj(environment ?? {}, `${name} environment`)).map(([k, v]) => [k, v === null ? '' : String(v)]));
};
export const healthcheckText = (service: Obj, name: string): string =>
  arr(obj(service.healthcheck, `${name} healthcheck`).test, `${name} healthcheck.test`)
    .map((part) => str(part, 'healthcheck part'))
    .join(' ');
