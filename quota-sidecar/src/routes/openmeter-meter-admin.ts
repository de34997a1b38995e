import { Hono } from 'hono';
import { TollgateError } from '@tollgate/core';
import { readMeterDefinition } from '@tollgate/core/meters';
import { readJsonRequest } from '../http/json-request.ts';
import type { MeterRegistry } from '../openmeter/meter-registry.ts';
import { meterView } from '../openmeter/meter-view.ts';

/**
 * OpenMeter's meter management: `POST /api/v1/meters` (a MeterCreate, checked as configured
 * meters are, in either path form; 201 with the meter, 409 when the slug is taken) and
 * `DELETE /api/v1/meters/{meterIdOrSlug}` (204; 409 for a meter of TOLLGATE_CONFIG). A meter's
 * events stay stored when it is deleted: only the meter goes.
 */
export const openMeterMeterAdminRoutes = ({ meters, maxBodyBytes }: { meters: MeterRegistry; maxBodyBytes: number }) =>
  new Hono()
    .post('/api/v1/meters', async (c) => {
      const read = readMeterDefinition(await readJsonRequest(c.req.raw, maxBodyBytes));
      if ('problems' in read) throw new TollgateError('BAD_REQUEST', read.problems.join('; '), { invalidParameters: read.problems });
      return c.json(meterView(await meters.create(read.definition)), 201);
    })
    .delete('/api/v1/meters/:meterIdOrSlug', async (c) => {
      await meters.delete(c.req.param('meterIdOrSlug'));
      return c.body(null, 204);
    });
