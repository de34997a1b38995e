import { ENV, type EnvName } from '@tollgate/core/config';
import type { ServiceEnv } from '@tollgate/core/service';
import { GATEWAY_ENV } from '@tollgate/gateway-plugin/env';
import { SINK_ENV } from '@tollgate/meter-sink/env';
import { SIDECAR_ENV } from '@tollgate/quota-sidecar/env';
import { STANDALONE_ENV } from '@tollgate/standalone/env';
import { SYNC_WORKER_ENV } from '@tollgate/sync-worker/env';

/** Every service's list of environment variables, `npm start` last. */
export const SERVICE_ENVS: readonly ServiceEnv[] = [GATEWAY_ENV, SIDECAR_ENV, SINK_ENV, SYNC_WORKER_ENV, STANDALONE_ENV];

export interface ConfigurationRow {
  variable: string;
  default: string;
  readBy: string;
  meaning: string;
}

/**
 * The rows the README's configuration table must have, from the lists: a default that differs
 * between services (PORT) is given per service.
 */
export const configurationTable = (): ConfigurationRow[] =>
  (Object.keys(ENV) as EnvName[]).flatMap((name) => {
    const readers = SERVICE_ENVS.flatMap(({ service, vars }) => vars.filter((v) => v.name === name).map((v) => ({ service, shown: v.shown })));
    if (readers.length === 0) return [];
    const shown = new Set(readers.map((r) => r.shown));
    return [
      {
        variable: `\`${name}\``,
        default: shown.size === 1 ? readers[0]?.shown ?? '' : readers.map((r) => `${r.shown} (${r.service})`).join(', '),
        readBy: readers.map((r) => r.service).join(', '),
        meaning: ENV[name].meaning,
      },
    ];
  });

/** The rows of the table under the README's "## Configuration" heading. */
export const readmeConfigurationRows = (readme: string): ConfigurationRow[] => {
  const section = readme.split(/^## Configuration$/m)[1]?.split(/^## /m)[0] ?? '';
  const rows = section.split('\n').filter((line) => line.startsWith('| `'));
  return rows.map((line) => {
    // Cells are split on ` | `: a cell's own text never holds that sequence.
    const [variable = '', def = '', readBy = '', meaning = ''] = line.slice(2, -2).split(' | ');
    return { variable, default: def, readBy, meaning };
  });
};
