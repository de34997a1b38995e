/**
 * The deployment manifests against the code: every environment variable a service reads (its
 * list, `serviceEnv` in core/src/service) is set in its Kubernetes Deployment and its compose
 * service, and nothing else is; probes and healthchecks hit /healthz and /readyz on the port the
 * service listens on; the kustomization lists every resource file.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ENV } from '@tollgate/core/config';
import type { ServiceEnv } from '@tollgate/core/service';
import { GATEWAY_ENV } from '@tollgate/gateway-plugin/env';
import { SIDECAR_ENV } from '@tollgate/quota-sidecar/env';
import { SINK_ENV } from '@tollgate/meter-sink/env';
import { SYNC_WORKER_ENV } from '@tollgate/sync-worker/env';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BASE = join(ROOT, 'deploy/kubernetes/base');
const COMPOSE = join(ROOT, 'deploy/compose/compose.yaml');

/** Deployment / compose service name → workspace folder and the variables it reads. */
const SERVICES: readonly { name: string; workspace: string; env: ServiceEnv }[] = [
  { name: 'gateway', workspace: 'gateway-plugin', env: GATEWAY_ENV },
  { name: 'quota-sidecar', workspace: 'quota-sidecar', env: SIDECAR_ENV },
  { name: 'meter-sink', workspace: 'meter-sink', env: SINK_ENV },
  { name: 'sync-worker', workspace: 'sync-worker', env: SYNC_WORKER_ENV },
];

/**
 * How a service is started: its workspace's `start` script (the one place its node flags are
 * written), run from the repository root.
 */
const startCommandOf = (workspace: string): string[] => {
  const manifest = JSON.parse(readFileSync(join(ROOT, workspace, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const start = manifest.scripts?.start;
  if (!start) throw new Error(`${workspace}/package.json has no start script`);
  return start.split(/\s+/).map((part) => (part === 'src/main.ts' ? `${workspace}/src/main.ts` : part));
};

/** Every environment variable the service reads, sorted. */
const envReadBy = (env: ServiceEnv): string[] => env.vars.map((v) => v.name).sort();

// ---------------------------------------------------------------------------------------------
// The kustomize base, resolved the way kustomize would for what these checks need.

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown, what: string): Obj => {
  if (!isObj(v)) throw new Error(`${what}: expected a mapping`);
  return v;
};
const arr = (v: unknown, what: string): unknown[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`${what}: expected a list`);
  return v;
};
const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string') throw new Error(`${what}: expected a string, got ${JSON.stringify(v)}`);
  return v;
};

const kustomization = obj(parse(readFileSync(join(BASE, 'kustomization.yaml'), 'utf8')), 'kustomization.yaml');
const resourceFiles = arr(kustomization.resources, 'resources').map((r) => str(r, 'resources[]'));
const resources: Obj[] = resourceFiles.flatMap((file) =>
  parseAllDocuments(readFileSync(join(BASE, file), 'utf8'))
    .map((doc) => doc.toJS() as unknown)
    .filter((v) => v !== null)
    .map((v) => obj(v, file)),
);

/** ConfigMap and Secret keys (and values) by name, from the resources and the generators. */
const configData = new Map<string, Map<string, string>>();
const generatorFiles = new Set<string>();
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
const dataOf = (kind: 'ConfigMap' | 'Secret', name: string): Map<string, string> => {
  const data = configData.get(`${kind}/${name}`);
  if (!data) throw new Error(`${kind} ${name} is not in the kustomize base`);
  return data;
};

interface Container {
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
const containerOf = (service: string): Container => {
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

const portOf = (container: Container): number => {
  const port = Number(container.env.get('PORT'));
  expect(Number.isInteger(port) && port > 0, `${container.name}: PORT is a literal port number`).toBe(true);
  return port;
};

/** Directories written at the env paths lie on a writable volume (the root filesystem is read-only). */
const WRITABLE_PATHS = ['SPOOL_DIR', 'EVENT_LOG_DIR', 'CLICKHOUSE_DATA_DIR'] as const;
const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir.replace(/\/$/, '')}/`);

// ---------------------------------------------------------------------------------------------
// The compose file.

const compose = obj(parse(readFileSync(COMPOSE, 'utf8')), 'compose.yaml');
const composeServices = obj(compose.services, 'compose services');
const composeService = (name: string): Obj => obj(composeServices[name], `compose service ${name}`);
const composeEnv = (service: Obj, name: string): Map<string, string> => {
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
const healthcheckText = (service: Obj, name: string): string =>
  arr(obj(service.healthcheck, `${name} healthcheck`).test, `${name} healthcheck.test`)
    .map((part) => str(part, 'healthcheck part'))
    .join(' ');

// ---------------------------------------------------------------------------------------------

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

describe('compose file', () => {
  it('runs Valkey 8, Kafka in KRaft mode, ClickHouse and the four services, each service built from the Dockerfile', () => {
    expect(str(composeService('valkey').image, 'valkey image')).toMatch(/^valkey\/valkey:8(\.|$|-)/);
    const kafka = composeEnv(composeService('kafka'), 'kafka');
    expect(str(composeService('kafka').image, 'kafka image')).toMatch(/^apache\/kafka:/);
    expect(kafka.get('KAFKA_PROCESS_ROLES')).toBe('broker,controller');
    expect(kafka.get('KAFKA_CONTROLLER_QUORUM_VOTERS')).toBeDefined();
    expect(str(composeService('clickhouse').image, 'clickhouse image')).toMatch(/^clickhouse\/clickhouse-server:/);
    for (const { name, workspace } of SERVICES) {
      const service = composeService(name);
      expect(service.command, name).toEqual(startCommandOf(workspace));
      const build = obj(service.build, `${name} build`);
      expect(existsSync(resolve(dirname(COMPOSE), str(build.context, 'context'), str(build.dockerfile, 'dockerfile')))).toBe(true);
    }
  });

  it('every depends_on waits for a service with a healthcheck', () => {
    for (const [name, value] of Object.entries(composeServices)) {
      const dependsOn = obj(value, name).depends_on;
      if (dependsOn === undefined) continue;
      for (const [target, condition] of Object.entries(obj(dependsOn, `${name}.depends_on`))) {
        expect(obj(condition, `${name} → ${target}`).condition, `${name} → ${target}`).toBe('service_healthy');
        expect(composeService(target).healthcheck, `${target} has a healthcheck`).toBeDefined();
      }
    }
  });

  describe.each(SERVICES)('$name', ({ name, env: list }) => {
    it('sets every variable the service reads, and nothing else', () => {
      expect([...composeEnv(composeService(name), name).keys()].sort()).toEqual(envReadBy(list));
    });

    it('its healthcheck asks /readyz on the port it listens on', () => {
      const service = composeService(name);
      const port = Number(composeEnv(service, name).get('PORT'));
      expect(Number.isInteger(port) && port > 0, `${name}: PORT is a literal port number`).toBe(true);
      expect(healthcheckText(service, name)).toContain(`:${port}/readyz`);
    });

    it('mounts deploy/config/tollgate.yaml at TOLLGATE_CONFIG when it reads it', () => {
      const service = composeService(name);
      const configPath = composeEnv(service, name).get('TOLLGATE_CONFIG');
      if (configPath === undefined) return;
      const mounts = arr(service.volumes, `${name} volumes`).map((v) => str(v, 'volume'));
      expect(mounts).toContain(`../config/tollgate.yaml:${configPath}:ro`);
    });
  });
});
