import type { Context } from 'hono';

declare module 'hono' {
  interface ContextVariableMap {
    /** Response fields tollgate adds once the handler has answered; see takeResponseFields. */
    tollgateResponseFields: Record<string, string> | undefined;
  }
}

/** Offers the fields tollgate will add to the response (the RateLimit fields). */
export const offerResponseFields = (c: Context, fields: Record<string, string>): void => {
  c.set('tollgateResponseFields', fields);
};

/**
 * For a handler that builds its own Response (the proxy): takes the offered fields to put in
 * that response's headers, so that tollgate need not copy the response's headers afterwards
 * to add them. Returns undefined when nothing was offered or the fields were taken already.
 */
export const takeResponseFields = (c: Context): Record<string, string> | undefined => {
  const fields: Record<string, string> | undefined = c.get('tollgateResponseFields');
  if (fields) c.set('tollgateResponseFields', undefined);
  return fields;
};
