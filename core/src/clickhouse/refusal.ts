/**
 * ClickHouse's error codes for input it cannot take: it refuses the data, not the moment, so
 * sending the same rows again fails the same way. Anything else (network, server busy, too many
 * parts while merges catch up, memory) may pass later and is retried whole. Deliberately absent:
 * 33 CANNOT_READ_ALL_DATA (a truncated body is a transport fault) and 252, which names both too
 * many partitions for one block (the writer never sends such a block) and too many parts, a
 * back-pressure signal.
 */
const ROW_ERROR_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  407, // DECIMAL_OVERFLOW
  469, // VIOLATED_CONSTRAINT: a CHECK an operator put on a table refuses the row
]);

/** The numeric ClickHouse error code of a failed call, from the server or the embedded engine. */
export const clickHouseErrorCode = (err: unknown): number | undefined => {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if ('clickhouseCode' in e && typeof e.clickhouseCode === 'number') return e.clickhouseCode;
    if ('code' in e && typeof e.code === 'string' && /^\d+$/.test(e.code)) return Number(e.code);
    const match = /^Code: (\d+)\./.exec(e.message);
    if (match) return Number(match[1]);
  }
  return undefined;
};

export interface RowProblem {
  /** ClickHouse's message, shortened: the reason a refused event carries. */
  reason: string;
  /** The 1-based row ClickHouse names ("at row N"), when it names one: a hint (a view may number the rows it was given). */
  row: number | undefined;
}

/** What ClickHouse said about the rows when it refused them for their content; undefined for any other failure. */
export const rowProblem = (err: unknown): RowProblem | undefined => {
  const code = clickHouseErrorCode(err);
  if (code === undefined || !ROW_ERROR_CODES.has(code)) return undefined;
  const message = err instanceof Error ? err.message : String(err);
  const row = /\bat row (\d+)\b/.exec(message)?.[1];
  const text = message.replace(/^(Code: \d+\. DB::Exception: )+/, '').split('\n')[0] ?? '';
  return { reason: `ClickHouse refused the event (code ${code}): ${text.slice(0, 300)}`, row: row === undefined ? undefined : Number(row) };
};
