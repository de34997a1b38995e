import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { ConfigError } from '../config/env.ts';
import type { TollgateConfig } from '../config/tollgate-config.ts';
import { TollgateError } from '../errors.ts';
import { isValidSubject } from '../subject.ts';

/**
 * Where a request's header fields are read: Hono's request (`c.req`) is one as it is, so the
 * gateway passes it without wrapping; the sidecar passes the fields a proxy forwarded.
 */
export interface HeaderReader {
  header(name: string): string | undefined;
}

/** The subject of a request, or the error to answer with. Synchronous when no I/O is needed. */
export type SubjectResolver = (req: HeaderReader) => string | TollgateError | Promise<string | TollgateError>;

// Asymmetric algorithms only for keys from a JWKS, HS256 only for the shared secret: a token
// can never pick the other family (algorithm confusion).
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const BEARER = /^Bearer +(\S+)\s*$/i;

/** A subject found by other means (the gateway's subject function), checked like one from a header. */
export const checkedSubject = (value: string | undefined, where: string): string | TollgateError => {
  if (value === undefined || value === '') return new TollgateError('UNAUTHORIZED', `The request names no subject (${where}).`);
  if (!isValidSubject(value)) {
    return new TollgateError('UNAUTHORIZED', `The subject in ${where} must be 1 to 128 characters of A-Z a-z 0-9 . _ : -`);
  }
  return value;
};

/** Maps a failed verification: the caller's fault is 401; an unreachable key set is ours (503). */
const verificationError = (err: unknown): TollgateError => {
  // Not a JOSE error (a network failure) or the generic one (the key set answered non-200 or
  // not JSON): the key set is unreachable, the token may be fine.
  const keySetDown = !(err instanceof errors.JOSEError) || err.code === 'ERR_JOSE_GENERIC';
  if (keySetDown || err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) {
    return new TollgateError('DEPENDENCY_UNAVAILABLE', 'The key set for bearer tokens cannot be fetched right now.');
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return new TollgateError('UNAUTHORIZED', 'The bearer token signature is invalid.');
  if (err instanceof errors.JWTExpired) return new TollgateError('UNAUTHORIZED', 'The bearer token has expired.');
  if (err instanceof errors.JWTClaimValidationFailed) return new TollgateError('UNAUTHORIZED', `The bearer token claim "${err.claim}" is not accepted.`);
  return new TollgateError('UNAUTHORIZED', 'The bearer token is not a valid JWT for this gateway.');
};

const jwtResolver = (jwt: NonNullable<TollgateConfig['subject']['jwt']>, secret: string | undefined): SubjectResolver => {
  const base: JWTVerifyOptions = {
    ...(jwt.issuer ? { issuer: jwt.issuer } : {}),
    ...(jwt.audience ? { audience: jwt.audience } : {}),
  };
  let verify: (token: string) => Promise<JWTPayload>;
  if (jwt.jwksUrl) {
    const keys = createRemoteJWKSet(new URL(jwt.jwksUrl));
    const options = { ...base, algorithms: JWKS_ALGORITHMS };
    verify = async (token) => (await jwtVerify(token, keys, options)).payload;
  } else if (secret) {
    const key = new TextEncoder().encode(secret);
    const options = { ...base, algorithms: ['HS256'] };
    verify = async (token) => (await jwtVerify(token, key, options)).payload;
  } else {
    throw new ConfigError(['subject.jwt needs subject.jwt.jwksUrl in the configuration or JWT_SECRET in the environment']);
  }
  const where = `claim ${jwt.claims.join(' or ')}`;

  return async function jwtSubject(req) {
    const token = BEARER.exec(req.header('authorization') ?? '')?.[1];
    if (!token) return new TollgateError('UNAUTHORIZED', 'A bearer token is required.');
    let payload: JWTPayload;
    try {
      payload = await verify(token);
    } catch (err) {
      return verificationError(err);
    }
    for (const claim of jwt.claims) {
      const value = payload[claim];
      if (typeof value === 'string' && value !== '') return checkedSubject(value, `claim ${claim}`);
    }
    return checkedSubject(undefined, where);
  };
};

/**
 * How the subject is found, decided once, the same for the gateway and the sidecar: a bearer
 * JWT when the configuration has `subject.jwt` (no header fallback then: a header would let
 * anyone claim any subject), else the configured header.
 */
export const createSubjectResolver = (config: TollgateConfig['subject'], jwtSecret?: string): SubjectResolver => {
  if (config.jwt) return jwtResolver(config.jwt, jwtSecret);
  const header = config.header;
  const where = `header ${header}`;
  return function headerSubject(req) {
    return checkedSubject(req.header(header), where);
  };
};
