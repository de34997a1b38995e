import type { CloudEventV1 } from 'cloudevents';

/** CloudEvents Kafka protocol binding, structured content mode. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';
/** Header of a dead-lettered message: why it was refused. */
export const DEAD_LETTER_REASON_HEADER = 'tollgate-dlq-reason';

export interface OutgoingMessage {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

/** The message of one event: key = subject (per-subject order), value = the structured event. */
export const toKafkaMessage = (event: CloudEventV1<unknown>): OutgoingMessage => ({
  key: event.subject ?? '',
  value: Buffer.from(JSON.stringify(event)),
  headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE },
});
