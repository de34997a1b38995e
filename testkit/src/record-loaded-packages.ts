// Loaded with `node --import` by loaded-packages.ts: records every module the process resolves
// and, as it exits, writes the npm packages among them to LOADED_PACKAGES_FILE.
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const out = process.env.LOADED_PACKAGES_FILE;
if (!out) throw new Error('LOADED_PACKAGES_FILE names the file the loaded packages are written to');

const packages = new Set<string>();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    // A workspace resolves to its own folder; a dependency to its folder under node_modules.
    const name = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*\/node_modules\/)/.exec(resolved.url)?.[1];
    if (name) packages.add(name);
    return resolved;
  },
});
process.on('exit', () => writeFileSync(out, JSON.stringify([...packages].sort())));
