import { TollgateError, type Logger } from '@tollgate/core';
import type { Meter, MeterDefinition, MeterRepository, MeterWrites, StoredMeter } from '@tollgate/core/meters';

/** A meter of the OpenMeter API: configured (TOLLGATE_CONFIG), or created over the API. */
export interface MeterEntry {
  meter: Meter;
  /** The slug of a configured meter; a ULID for a created one. */
  id: string;
  name: string;
  metadata: Record<string, string> | null;
  createdAt: string;
  configured: boolean;
}

export interface MeterRegistryDeps {
  configured: readonly Meter[];
  /** When the configuration was loaded: the createdAt of configured meters. */
  definedAt: string;
  /** Where created meters are read; without it (no ClickHouse) there are configured meters only. */
  stored?: Pick<MeterRepository, 'list'> | undefined;
  /** Where they are written: the repository, or the primary's with SIDECAR_WORKERS > 1. */
  writes?: MeterWrites | undefined;
  logger: Logger;
}

const fromStore = ({ id, definition, createdAt }: StoredMeter): MeterEntry => ({ meter: definition.meter, id, name: definition.name, metadata: definition.metadata, createdAt, configured: false });

/**
 * The meters the OpenMeter API answers with: the configured ones, then those created over the
 * API. Created meters are read from ClickHouse on every request, never kept in memory, so every
 * process and every sidecar instance answers with the same meters the moment one is created or
 * deleted. Configured meters are found without a ClickHouse read, and cannot be deleted.
 */
export class MeterRegistry {
  readonly #configured: MeterEntry[];
  readonly #deps: MeterRegistryDeps;

  constructor(deps: MeterRegistryDeps) {
    this.#deps = deps;
    this.#configured = deps.configured.map((meter) => ({ meter, id: meter.slug, name: meter.slug, metadata: null, createdAt: deps.definedAt, configured: true }));
  }

  /** Whether meters can be created and deleted here. */
  get writable(): boolean {
    return this.#deps.writes !== undefined;
  }

  async list(): Promise<MeterEntry[]> {
    return [...this.#configured, ...(await this.#stored())];
  }

  /** The meter with this id or slug; 404 when there is none. */
  async find(idOrSlug: string): Promise<MeterEntry> {
    const entry = this.#configuredOf(idOrSlug) ?? (await this.#stored()).find((e) => e.id === idOrSlug || e.meter.slug === idOrSlug);
    if (!entry) throw new TollgateError('NOT_FOUND', `There is no meter "${idOrSlug}".`);
    return entry;
  }

  /** Creates a meter; 409 when its slug is configured or already created. */
  async create(definition: MeterDefinition): Promise<MeterEntry> {
    const slug = definition.meter.slug;
    if (this.#configuredOf(slug)) throw new TollgateError('CONFLICT', `A meter with the slug "${slug}" is defined in TOLLGATE_CONFIG.`);
    const result = await this.#write('create', (writes) => writes.create(definition));
    if ('conflict' in result) throw new TollgateError('CONFLICT', `A meter with the slug "${slug}" already exists (id ${result.conflict.id}).`);
    return fromStore(result.created);
  }

  /** Deletes a created meter; 409 for a configured one, 404 when there is none. */
  async delete(idOrSlug: string): Promise<void> {
    if (this.#configuredOf(idOrSlug)) {
      throw new TollgateError('CONFLICT', `The meter "${idOrSlug}" is defined in TOLLGATE_CONFIG and cannot be deleted over the API; remove it from the configuration instead.`);
    }
    const deleted = await this.#write('delete', (writes) => writes.delete(idOrSlug));
    if (!deleted) throw new TollgateError('NOT_FOUND', `There is no meter "${idOrSlug}".`);
  }

  #configuredOf(idOrSlug: string): MeterEntry | undefined {
    return this.#configured.find((e) => e.id === idOrSlug);
  }

  async #stored(): Promise<MeterEntry[]> {
    const { stored, logger } = this.#deps;
    if (!stored) return [];
    try {
      return (await stored.list()).map(fromStore);
    } catch (err) {
      logger.error('stored meters could not be read', { error: err instanceof Error ? err.message : String(err) });
      throw new TollgateError('DEPENDENCY_UNAVAILABLE', 'The meters could not be read right now; retry shortly.');
    }
  }

  async #write<T>(what: string, write: (writes: MeterWrites) => Promise<T>): Promise<T> {
    const { writes, logger } = this.#deps;
    if (!writes) throw new TollgateError('DEPENDENCY_UNAVAILABLE', 'Meters cannot be created or deleted without ClickHouse.');
    try {
      return await write(writes);
    } catch (err) {
      if (err instanceof TollgateError) throw err;
      logger.error(`meter ${what} failed`, { error: err instanceof Error ? err.message : String(err) });
      // It may have been written all the same: a retried create then answers 409 naming the meter, a retried delete 404.
      throw new TollgateError('DEPENDENCY_UNAVAILABLE', `The meter could not be ${what === 'create' ? 'created' : 'deleted'} right now; retry shortly.`);
    }
  }
}
