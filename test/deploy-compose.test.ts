/**
 * The compose file against the code: the services it runs, each started as its workspace's start
 * script, with exactly the variables it reads, and healthchecks on /healthz and /readyz
 * (testkit/src/deploy-manifests.ts reads the file).
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  COMPOSE,
  SERVICES,
  startCommandOf,
  envReadBy,
  obj,
  arr,
  str,
  composeServices,
  composeService,
  composeEnv,
  healthcheckText,
} from '@tollgate/testkit/deploy-manifests';

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
