/** A subject (the caller, a TPP) as it may appear in keys, events and URLs. */
export const SUBJECT_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export const isValidSubject = (value: unknown): value is string =>
  typeof value === 'string' && SUBJECT_PATTERN.test(value);
