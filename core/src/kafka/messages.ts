/** CloudEvents Kafka protocol binding, structured content mode. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';
/** Header of a dead-lettered message: why it was refused. */
export const DEAD_LETTER_REASON_HEADER = 'tollgate-dlq-reason';
