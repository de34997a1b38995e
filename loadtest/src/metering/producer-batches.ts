import { fileURLToPath } from 'node:url';
import { KafkaClient } from '@tollgate/core/kafka';
import { startKafka } from '@tollgate/testkit/kafka';
import { median } from '../report/compare.ts';
import { measureInChild, type ChildMeasurement } from './kafka-clients-run.ts';
import { formatCount, reportTable, type ReportRow } from '../report/format.ts';

/**
 * What the producer costs per message at each batch size: Tollgate's keyed producer
 * (core/src/kafka over @platformatic/kafka, idempotent, acks=all) sends the same 417-byte
 * api.call events keyed over 1,000 subjects to 6 partitions in sends of N records, one send
 * after the other, each batch size in a fresh process; a harness that builds the same events
 * and sends nothing runs beside it, and its cost is subtracted. Rounds alternate the order of
 * the batch sizes; the report takes medians. The gateway's emitter sends what its linger
 * gathered (its `tollgate_emitter_batch_events` histogram shows the sizes), so this is the
 * cost per event of the linger it runs with.
 */
export const BATCH_SIZES = [1, 10, 50, 100, 200, 500, 1_000, 2_000, 5_000] as const;

export interface BatchCost {
  size: number;
  /** Producer CPU µs per message, the harness's own cost taken off. */
  cpuUsPerMessage: number;
  /** Wall time of one send, the broker's round trip (acks=all) included. */
  wallUsPerSend: number;
}

export interface ProducerBatchesResult {
  rounds: number;
  costs: BatchCost[];
  harnessUsPerMessage: number;
}


/** Enough messages per measurement that small batches still send hundreds of times, large ones tens. */
const messagesFor = (size: number) => Math.min(60_000, Math.max(3_000, size * 40));

export const runProducerBatches = async ({ rounds = 3 }: { rounds?: number }, log: (line: string) => void): Promise<ProducerBatchesResult> => {
  const broker = await startKafka({ numPartitions: 6 });
  const kafka = new KafkaClient({ brokers: [broker.brokers], clientId: 'bench-batches' });
  try {
    const samples = new Map<number, { client: ChildMeasurement; harness: ChildMeasurement }[]>();
    let topics = 0;
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? [...BATCH_SIZES] : [...BATCH_SIZES].reverse();
      for (const size of order) {
        const topic = `batches-${topics++}`;
        await kafka.ensureTopics(topic, 6);
        const messages = String(messagesFor(size));
        const client = await measureInChild(['produce-batches', 'tollgate', broker.brokers, topic, String(size), messages]);
        const harness = await measureInChild(['produce-batches', 'none', broker.brokers, topic, String(size), messages]);
        samples.set(size, [...(samples.get(size) ?? []), { client, harness }]);
        const net = (client.cpuUs - harness.cpuUs) / client.messages;
        log(`round ${round}/${rounds} batch ${String(size).padStart(5)}: ${net.toFixed(1)} µs/message, ${((client.seconds * 1e6) / (client.sends ?? 1)).toFixed(0)} µs per send`);
      }
    }
    const costs = BATCH_SIZES.map((size) => {
      const runs = samples.get(size) ?? [];
      return {
        size,
        cpuUsPerMessage: median(runs.map((r) => (r.client.cpuUs - r.harness.cpuUs) / r.client.messages)),
        wallUsPerSend: median(runs.map((r) => (r.client.seconds * 1e6) / (r.client.sends ?? 1))),
      };
    });
    const all = [...samples.values()].flat();
    return { rounds, costs, harnessUsPerMessage: median(all.map((r) => r.harness.cpuUs / r.harness.messages)) };
  } finally {
    await kafka.close();
    await broker.close();
  }
};

export const producerBatchesRows = (r: ProducerBatchesResult): ReportRow[] =>
  r.costs.map((c) => ({
    scenario: `producer cost by batch size (${r.rounds} rounds)`,
    measure: `${formatCount(c.size)} events per send`,
    baseline: `harness ${r.harnessUsPerMessage.toFixed(1)} µs/event`,
    system: `${c.cpuUsPerMessage.toFixed(1)} µs CPU/event`,
    comparison: `${formatCount(Math.round(c.wallUsPerSend))} µs per send (wall)`,
    target: '—',
    verdict: '—',
  }));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await runProducerBatches({ rounds: Number(process.env.BATCHES_ROUNDS ?? 3) }, (l) => console.log(`  ${l}`));
  console.log(`\n${reportTable(producerBatchesRows(r))}`);
}
