import { Redis } from 'iovalkey';

/** `INFO` output → field → value (section headers and blank lines dropped). */
export const parseInfo = (text: string): Record<string, string> => {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
};

/** Counters of how Valkey was talked to: commands, and the socket reads they arrived in. */
export interface ValkeyTraffic {
  commands: number;
  reads: number;
}

const counter = (fields: Record<string, string>, name: string): number => {
  const n = Number(fields[name]);
  if (fields[name] === undefined || !Number.isFinite(n)) throw new Error(`INFO has no ${name}`);
  return n;
};

export const trafficOf = (info: Record<string, string>): ValkeyTraffic => ({
  commands: counter(info, 'total_commands_processed'),
  reads: counter(info, 'total_reads_processed'),
});

/**
 * Commands per socket read between two snapshots: how many debits a client's pipeline
 * carried per write on average (1.0 = no pipelining at all).
 */
export const commandsPerRead = (before: ValkeyTraffic, after: ValkeyTraffic): number | undefined => {
  const reads = after.reads - before.reads;
  return reads > 0 ? (after.commands - before.commands) / reads : undefined;
};

/** One INFO call on a short-lived connection. */
export const readInfo = async (url: string, section: string): Promise<Record<string, string>> => {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    return parseInfo(await client.info(section));
  } finally {
    client.disconnect();
  }
};

/** The pid of the Valkey server behind `url`, to measure its CPU time. */
export const valkeyPid = async (url: string): Promise<number> => {
  const pid = Number((await readInfo(url, 'server')).process_id);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`Valkey at ${url} reports no process_id`);
  return pid;
};
