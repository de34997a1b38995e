/** CloudEvents Kafka protocol binding, structured content mode. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';
/** Header of a dead-lettered message: why it was refused. */
export const DEAD_LETTER_REASON_HEADER = 'tollgate-dlq-reason';
/**
 * The meter-sink's consumer group: the sink consumes in it, a replay waits until it has stored
 * up to the replay's stop offsets, and the sync worker's restore waits for its committed offsets.
 */
export const SINK_GROUP_ID = 'tollgate-meter-sink';
