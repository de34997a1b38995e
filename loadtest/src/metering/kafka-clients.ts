import { fileURLToPath } from 'node:url';
import { KafkaClient } from '@tollgate/core/kafka';
import { startKafka } from '@tollgate/testkit/kafka';
import { median } from '../report/compare.ts';
import { measureInChild, type ChildMeasurement } from './kafka-clients-run.ts';
import { formatCount, formatRatio, reportTable, type ReportRow } from '../report/format.ts';
import { clientBenchEvent, type ClientName } from './kafka-clients-events.ts';

/**
 * The Kafka client, chosen by measurement: kafkajs 2.2.4 (the previous client) against
 * Tollgate's core/src/kafka over @platformatic/kafka, on the same broker in the same run, with
 * the same events (417-byte api.call JSON, keyed over 1,000 subjects, 6 partitions), idempotent
 * producers with acks=all. Each measurement runs in a fresh process; the clients alternate
 * within each round and the report takes medians over rounds:
 * - producer CPU µs/message at a fixed 10,000 msg/s (5 ms linger), beside a harness that builds
 *   the same events and sends nothing (what is not the client's);
 * - producer CPU µs/message and msg/s at saturation (batches of 5,000, one send at a time);
 * - consumer CPU µs/message and msg/s reading the same topic from the beginning.
 */
export interface ClientFigures {
  rateCpuUs: number;
  saturationCpuUs: number;
  saturationRate: number;
  consumeCpuUs?: number;
  consumeRate?: number;
}

export interface KafkaClientsResult {
  eventBytes: number;
  rate: number;
  seconds: number;
  rounds: number;
  consumeMessages: number;
  clients: Record<ClientName, ClientFigures>;
}

const PARTITIONS = 6;

const perMessage = (m: ChildMeasurement) => m.cpuUs / Math.max(m.messages, 1);
const rateOf = (m: ChildMeasurement) => m.messages / m.seconds;

export const runKafkaClients = async (
  { rate = 10_000, seconds = 10, rounds = 3, consumeMessages = 500_000 }: { rate?: number; seconds?: number; rounds?: number; consumeMessages?: number },
  log: (line: string) => void,
): Promise<KafkaClientsResult> => {
  const broker = await startKafka({ numPartitions: PARTITIONS });
  const kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'bench-clients' });
  try {
    const samples = new Map<string, ChildMeasurement[]>();
    const add = (key: string, m: ChildMeasurement) => samples.set(key, [...(samples.get(key) ?? []), m]);
    // The topic both consumers read: the same events, written once.
    const readTopic = 'clients-read';
    await kafka.ensureTopics(readTopic, PARTITIONS);
    const producer = kafka.producer();
    for (let from = 0; from < consumeMessages; from += 5_000) {
      await producer.send(readTopic, Array.from({ length: Math.min(5_000, consumeMessages - from) }, (_, k) => clientBenchEvent(from + k)));
    }
    await producer.close();
    let topics = 0;
    const freshTopic = async () => {
      const t = `clients-${topics++}`;
      await kafka.ensureTopics(t, PARTITIONS);
      return t;
    };
    for (let round = 1; round <= rounds; round++) {
      // A different client first in each round, so that drift of the machine does not favour one.
      const order: ClientName[] = round % 2 === 1 ? ['none', 'kafkajs', 'tollgate'] : ['tollgate', 'kafkajs', 'none'];
      for (const client of order) {
        const fixed = await measureInChild(['produce-rate', client, broker.brokers, await freshTopic(), String(rate), String(seconds)]);
        add(`${client}:rate`, fixed);
        const max = await measureInChild(['produce-max', client, broker.brokers, await freshTopic(), String(seconds)]);
        add(`${client}:max`, max);
        log(`round ${round}/${rounds} ${client.padEnd(8)}: ${perMessage(fixed).toFixed(1)} µs/msg at ${formatCount(rate)}/s; ${perMessage(max).toFixed(1)} µs/msg at saturation, ${formatCount(rateOf(max))} msg/s`);
      }
      for (const client of (round % 2 === 1 ? ['kafkajs', 'tollgate'] : ['tollgate', 'kafkajs']) as ClientName[]) {
        const read = await measureInChild(['consume', client, broker.brokers, readTopic, String(consumeMessages)]);
        add(`${client}:consume`, read);
        log(`round ${round}/${rounds} ${client.padEnd(8)}: consumer ${perMessage(read).toFixed(1)} µs/msg, ${formatCount(rateOf(read))} msg/s`);
      }
    }
    const med = (key: string, f: (m: ChildMeasurement) => number) => median((samples.get(key) ?? []).map(f));
    const figures = (client: ClientName): ClientFigures => ({
      rateCpuUs: med(`${client}:rate`, perMessage),
      saturationCpuUs: med(`${client}:max`, perMessage),
      saturationRate: med(`${client}:max`, rateOf),
      ...(client === 'none' ? {} : { consumeCpuUs: med(`${client}:consume`, perMessage), consumeRate: med(`${client}:consume`, rateOf) }),
    });
    return {
      eventBytes: Buffer.byteLength(clientBenchEvent(0).value),
      rate,
      seconds,
      rounds,
      consumeMessages,
      clients: { none: figures('none'), kafkajs: figures('kafkajs'), tollgate: figures('tollgate') },
    };
  } finally {
    await kafka.close();
    await broker.close();
  }
};

const us = (n: number | undefined) => (n === undefined ? '—' : `${n.toFixed(1)} µs`);

export const kafkaClientsRows = (r: KafkaClientsResult): ReportRow[] => {
  const { kafkajs: old, tollgate: ours, none } = r.clients;
  const scenario = `Kafka client (${r.eventBytes}-byte events, ${r.rounds} rounds)`;
  const row = (measure: string, baseline: string, system: string, ratio: number, better: boolean): ReportRow => ({
    scenario,
    measure,
    baseline: `kafkajs ${baseline}`,
    system: `@platformatic/kafka ${system}`,
    comparison: `${formatRatio(ratio)} of kafkajs`,
    target: 'no worse than kafkajs',
    verdict: better ? 'pass' : 'MISS',
  });
  return [
    row(`producer CPU/message at ${formatCount(r.rate)} msg/s (harness alone ${us(none.rateCpuUs)})`, us(old.rateCpuUs), us(ours.rateCpuUs), ours.rateCpuUs / old.rateCpuUs, ours.rateCpuUs <= old.rateCpuUs),
    row(`producer CPU/message at saturation (harness alone ${us(none.saturationCpuUs)})`, us(old.saturationCpuUs), us(ours.saturationCpuUs), ours.saturationCpuUs / old.saturationCpuUs, ours.saturationCpuUs <= old.saturationCpuUs),
    row('producer msg/s at saturation', formatCount(old.saturationRate), formatCount(ours.saturationRate), ours.saturationRate / old.saturationRate, ours.saturationRate >= old.saturationRate),
    row(
      `consumer CPU/message (${formatCount(r.consumeMessages)} messages)`,
      us(old.consumeCpuUs),
      us(ours.consumeCpuUs),
      (ours.consumeCpuUs ?? Number.NaN) / (old.consumeCpuUs ?? Number.NaN),
      (ours.consumeCpuUs ?? Infinity) <= (old.consumeCpuUs ?? 0),
    ),
  ];
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await runKafkaClients(
    {
      rate: Number(process.env.CLIENTS_RATE ?? 10_000),
      seconds: Number(process.env.CLIENTS_SECONDS ?? 10),
      rounds: Number(process.env.CLIENTS_ROUNDS ?? 3),
      consumeMessages: Number(process.env.CLIENTS_CONSUME ?? 500_000),
    },
    (l) => console.log(`  ${l}`),
  );
  console.log(`\n${reportTable(kafkaClientsRows(r))}`);
  console.log(JSON.stringify(r.clients));
}
