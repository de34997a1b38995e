import type { BaseOptions } from '@platformatic/kafka';

/** Where Kafka is and who this process is to it. */
export interface KafkaConnection {
  brokers: readonly string[];
  clientId: string;
}

/** How hard one client tries before an operation fails to its caller. */
export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  retryDelayMs: number;
  connectTimeoutMs: number;
  /** Longest a request may stay unanswered on an open connection. */
  requestTimeoutMs: number;
}

/** Admin calls and group membership: a broker restart takes seconds, ride it out. */
export const PATIENT: RetryPolicy = { retries: 5, retryDelayMs: 500, connectTimeoutMs: 3_000, requestTimeoutMs: 30_000 };

/**
 * The options of every client of the library: `strict` off (no option validation per request),
 * no auto-created topics (`ensureTopics` creates them with their partition count).
 */
export const clientOptions = (c: KafkaConnection, retry: RetryPolicy, role: string): BaseOptions => ({
  clientId: `${c.clientId}-${role}`,
  bootstrapBrokers: [...c.brokers],
  retries: retry.retries,
  retryDelay: retry.retryDelayMs,
  connectTimeout: retry.connectTimeoutMs,
  requestTimeout: retry.requestTimeoutMs,
  autocreateTopics: false,
  strict: false,
});
