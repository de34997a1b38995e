/** The parts of a V8 `.cpuprofile` (as written by `node --cpu-prof`) that the summary reads. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
    children?: number[];
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
  /** Microseconds since the previous sample, one per sample. */
  timeDeltas: number[];
}

export interface Share {
  name: string;
  ms: number;
  /** Fraction of the busy (non-idle) time. */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  /** Time spent in each package's own code (leaf frames). */
  selfByPackage: Share[];
  /** Time with the package anywhere on the stack: what removing the package would save at most. */
  inclusiveByPackage: Share[];
  /** Leaf functions by own time. */
  topSelf: Share[];
  /** Functions by time with them on the stack (each function counted once per sample). */
  topInclusive: Share[];
}

const SPECIAL: Record<string, string> = {
  '(idle)': '(idle)',
  '(garbage collector)': '(garbage collector)',
  '(program)': '(program: V8 and native code outside JS)',
  '(root)': '(root)',
};

/**
 * Names the package a frame belongs to: an npm package from its node_modules path, a
 * workspace (`@tollgate/<folder>`) from its path under the repository root, `node:` for
 * Node's own JavaScript, and `(native)` for V8 builtins without a script.
 */
export const packageOf = (url: string, functionName: string, repoRoot: string): string => {
  const special = SPECIAL[functionName];
  if (special && url === '') return special;
  if (url === '') return '(native)';
  if (url.startsWith('node:')) return 'node: (Node.js internals)';
  const path = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const [scope = '', name = ''] = path.slice(nm + '/node_modules/'.length).split('/');
    return scope.startsWith('@') ? `${scope}/${name}` : scope;
  }
  const root = repoRoot.endsWith('/') ? repoRoot : `${repoRoot}/`;
  if (path.startsWith(root)) return `@tollgate/${path.slice(root.length).split('/')[0] ?? ''}`;
  return path;
};

/** A frame's file, relative to node_modules or to the repository. */
const shortFile = (url: string, repoRoot: string): string => {
  const path = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) return path.slice(nm + '/node_modules/'.length);
  const root = repoRoot.endsWith('/') ? repoRoot : `${repoRoot}/`;
  return path.startsWith(root) ? path.slice(root.length) : path;
};

const ranked = (totals: Map<string, number>, busyMs: number, limit: number): Share[] =>
  [...totals]
    .map(([name, ms]) => ({ name, ms, share: busyMs > 0 ? ms / busyMs : 0 }))
    .sort((a, b) => b.ms - a.ms || a.name.localeCompare(b.name))
    .slice(0, limit);

/** Where a process spent its CPU time, by package and by function. */
export const summarizeCpuProfile = (profile: CpuProfile, { repoRoot, limit = 15 }: { repoRoot: string; limit?: number }): ProfileSummary => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const pkg = new Map<number, string>();
  const fn = new Map<number, string>();
  for (const n of profile.nodes) {
    const { functionName, url, lineNumber } = n.callFrame;
    const p = packageOf(url, functionName, repoRoot);
    pkg.set(n.id, p);
    fn.set(n.id, url === '' ? `${functionName || '(anonymous)'} [${p}]` : `${functionName || '(anonymous)'} ${shortFile(url, repoRoot)}:${lineNumber + 1}`);
  }

  const add = (m: Map<string, number>, key: string, ms: number) => m.set(key, (m.get(key) ?? 0) + ms);
  const selfByPackage = new Map<string, number>();
  const inclusiveByPackage = new Map<string, number>();
  const topSelf = new Map<string, number>();
  const topInclusive = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;

  profile.samples.forEach((leaf, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    totalMs += ms;
    const leafPkg = pkg.get(leaf) ?? '(unknown)';
    if (leafPkg === '(idle)') {
      idleMs += ms;
      return;
    }
    add(selfByPackage, leafPkg, ms);
    add(topSelf, fn.get(leaf) ?? '(unknown)', ms);
    const seenPkg = new Set<string>();
    const seenFn = new Set<string>();
    for (let id: number | undefined = leaf; id !== undefined && byId.has(id); id = parent.get(id)) {
      const p = pkg.get(id) ?? '(unknown)';
      const f = fn.get(id) ?? '(unknown)';
      if (p === '(root)') continue;
      if (!seenPkg.has(p)) {
        seenPkg.add(p);
        add(inclusiveByPackage, p, ms);
      }
      if (!seenFn.has(f)) {
        seenFn.add(f);
        add(topInclusive, f, ms);
      }
    }
  });

  const busyMs = totalMs - idleMs;
  return {
    totalMs,
    idleMs,
    busyMs,
    selfByPackage: ranked(selfByPackage, busyMs, limit),
    inclusiveByPackage: ranked(inclusiveByPackage, busyMs, limit),
    topSelf: ranked(topSelf, busyMs, limit),
    topInclusive: ranked(topInclusive, busyMs, limit),
  };
};
