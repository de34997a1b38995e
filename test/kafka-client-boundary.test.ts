import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * One Kafka client for the whole project, behind one folder: only core/src/kafka/ imports the
 * client library, and kafkajs survives only as the loadtest's baseline in the client benchmark.
 */
const root = new URL('..', import.meta.url).pathname;
const SKIP = new Set(['node_modules', '.data', '.tmp', '.git']);

const sources = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    if (SKIP.has(name)) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|js|mjs)$/.test(name) ? [relative(root, path)] : [];
  });

const importing = (library: string) =>
  sources(root).filter((file) => {
    const text = readFileSync(join(root, file), 'utf8');
    return new RegExp(`(from|import\\()\\s*['"]${library.replace('/', '\\/')}['"]`).test(text);
  });

const manifest = (workspace: string) =>
  JSON.parse(readFileSync(join(root, workspace, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
const WORKSPACES = [...(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces, '.'];

describe('the Kafka client boundary', () => {
  it('only core/src/kafka imports @platformatic/kafka', () => {
    const files = importing('@platformatic/kafka');
    expect(files.length).toBeGreaterThan(0);
    expect(files.filter((f) => !f.startsWith('core/src/kafka/'))).toEqual([]);
  });

  it('only the loadtest client benchmark imports kafkajs, and no product package or the harness depends on it', () => {
    expect(importing('kafkajs').filter((f) => !f.startsWith('loadtest/src/metering/kafka-clients'))).toEqual([]);
    const dependents = WORKSPACES.filter((w) => 'kafkajs' in (manifest(w).dependencies ?? {}) || (w !== 'loadtest' && 'kafkajs' in (manifest(w).devDependencies ?? {})));
    expect(dependents).toEqual([]);
  });

  it('pins the client library to an exact version in core, the only workspace that depends on it', () => {
    const pinned = WORKSPACES.filter((w) => '@platformatic/kafka' in { ...manifest(w).dependencies, ...manifest(w).devDependencies });
    expect(pinned).toEqual(['core']);
    expect(manifest('core').dependencies?.['@platformatic/kafka']).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
