import { Hono } from 'hono';
import { TollgateError, type Logger } from '@tollgate/core';
import type { Subject, SubjectRepository } from '@tollgate/core/meters';
import { readJsonRequest } from '../http/json-request.ts';
import { readSubjectUpserts } from '../openmeter/subject-upsert-body.ts';

const notFound = (keyOrId: string) => new TollgateError('NOT_FOUND', `There is no subject "${keyOrId}".`);

/**
 * OpenMeter's subjects — the home of a TPP's details (display name, metadata): `GET` and `POST
 * /api/v1/subjects` (upsert: the fields sent, in one write), `GET` and `DELETE
 * /api/v1/subjects/{subjectIdOrKey}`. Stored in ClickHouse, so every process answers the same.
 */
export const openMeterSubjectsRoutes = ({ subjects, maxBodyBytes, logger }: { subjects: SubjectRepository; maxBodyBytes: number; logger: Logger }) => {
  const stored = async <T>(what: string, read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (err) {
      logger.error(`subjects ${what} failed`, { error: err instanceof Error ? err.message : String(err) });
      throw new TollgateError('DEPENDENCY_UNAVAILABLE', `The subjects could not be ${what === 'read' ? 'read' : 'written'} right now; retry shortly.`);
    }
  };
  const found = (keyOrId: string, subject: Subject | undefined): Subject => {
    if (!subject) throw notFound(keyOrId);
    return subject;
  };
  return new Hono()
    .get('/api/v1/subjects', async (c) => c.json(await stored('read', () => subjects.list())))
    .post('/api/v1/subjects', async (c) => {
      const upserts = readSubjectUpserts(await readJsonRequest(c.req.raw, maxBodyBytes));
      return c.json(await stored('write', () => subjects.upsert(upserts)));
    })
    .get('/api/v1/subjects/:subjectIdOrKey', async (c) => {
      const keyOrId = c.req.param('subjectIdOrKey');
      return c.json(found(keyOrId, await stored('read', () => subjects.get(keyOrId))));
    })
    .delete('/api/v1/subjects/:subjectIdOrKey', async (c) => {
      const keyOrId = c.req.param('subjectIdOrKey');
      found(keyOrId, await stored('write', () => subjects.delete(keyOrId)));
      return c.body(null, 204);
    });
};
