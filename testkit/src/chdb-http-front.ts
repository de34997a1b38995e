import { createServer, type IncomingMessage, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Session } from 'chdb';

/**
 * The part of ClickHouse's HTTP interface that `@clickhouse/client` uses, served by the embedded
 * engine (chDB) from one data directory, so that several processes can share one ClickHouse
 * where no server is installed. `/ping`; the query from the `query` parameter and/or the body
 * (an INSERT's rows follow its `FORMAT` clause in the body); `param_*`, `database`,
 * `default_format` and any other parameter as a setting; errors as ClickHouse sends them.
 * Requests run one at a time: settings, parameters and the current database are session state.
 * Run alone: `node testkit/src/chdb-http-front.ts DATA_DIR [PORT]`.
 */
export interface ChdbFront {
  url: string;
  close(): Promise<void>;
}

// URL parameters of the HTTP interface that are not settings (`readonly` would lock the shared session).
const NOT_SETTINGS = new Set(['query', 'query_id', 'database', 'default_format', 'session_id', 'session_timeout',
  'session_check', 'user', 'password', 'quota_key', 'compress', 'decompress', 'buffer_size', 'wait_end_of_query',
  'role', 'stacktrace', 'readonly']);
const quote = (s: string) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

class QueryError extends Error {
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const encoding = req.headers['content-encoding'];
  if (encoding && encoding !== 'gzip') throw new QueryError(`Code: 1001. DB::Exception: Unsupported Content-Encoding ${encoding}. (STD_EXCEPTION)`, 1001);
  return (encoding === 'gzip' ? gunzipSync(body) : body).toString('utf8');
};

export const serveChdb = async ({ dataDir, port = 0, host = '127.0.0.1' }: { dataDir: string; port?: number; host?: string }): Promise<ChdbFront> => {
  mkdirSync(dataDir, { recursive: true });
  const session = new Session(resolve(dataDir));
  const baseline = new Map<string, string>(); // a setting's value before any request changed it
  const applied = new Map<string, string>(); // settings as the session has them now
  let database = 'default';
  let queue: Promise<unknown> = Promise.resolve();

  const run = async (params: URLSearchParams, body: string) => {
    const wanted = new Map<string, string>();
    const assignments: string[] = [];
    for (const [name, value] of params) {
      if (name.startsWith('param_')) assignments.push(`${name} = ${quote(value)}`);
      else if (!NOT_SETTINGS.has(name)) wanted.set(name, value);
    }
    for (const name of wanted.keys()) {
      if (baseline.has(name) || !/^\w+$/.test(name)) continue;
      const row = (await session.queryAsync(`SELECT value FROM system.settings WHERE name = ${quote(name)}`, { format: 'TSVRaw' })).text();
      if (row) baseline.set(name, row.replace(/\n$/, ''));
    }
    const next = new Map([...applied.keys()].map((name) => [name, baseline.get(name) ?? '']));
    for (const [name, value] of wanted) next.set(name, value);
    for (const [name, value] of next) if (applied.get(name) !== value) assignments.push(`${name} = ${quote(value)}`);
    if (assignments.length > 0) await session.queryAsync(`SET ${assignments.join(', ')}`);
    for (const [name, value] of next) applied.set(name, value);
    const db = params.get('database') || 'default';
    if (db !== database) {
      await session.queryAsync(`USE \`${db.replaceAll('`', '\\`')}\``);
      database = db;
    }
    const sql = [params.get('query') ?? '', body].filter((s) => s.length > 0).join('\n');
    return session.queryAsync(sql, { format: params.get('default_format') ?? 'TabSeparated' });
  };

  // ClickHouse accepts URIs up to 1 MiB (query parameters travel there); so does this front.
  const server: Server = createServer({ maxHeaderSize: 1024 * 1024 }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://front');
    const queryId = url.searchParams.get('query_id') || randomUUID();
    if (url.pathname === '/ping' || (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query'))) {
      res.end('Ok.\n');
      return;
    }
    const done = readBody(req).then((body) => {
      const result = queue.then(() => run(url.searchParams, body));
      queue = result.catch(() => undefined);
      return result;
    });
    done.then(
      (result) => {
        const summary = { read_rows: String(result.rowsRead), read_bytes: String(result.bytesRead), elapsed_ns: String(Math.round(result.elapsed * 1e9)) };
        res.writeHead(200, { 'X-ClickHouse-Query-Id': queryId, 'X-ClickHouse-Summary': JSON.stringify(summary), 'Content-Type': 'text/plain; charset=UTF-8' });
        res.end(result.bytes());
      },
      (err: unknown) => {
        const fromEngine = err instanceof Error && 'clickhouseCode' in err && typeof err.clickhouseCode === 'number' ? err.clickhouseCode : undefined;
        const code = err instanceof QueryError ? err.code : (fromEngine ?? 1001);
        const message = err instanceof Error ? err.message : String(err);
        const text = /^Code: \d+\./.test(message) ? message : `Code: ${code}. DB::Exception: ${message}. (STD_EXCEPTION)`;
        const type = /\(([A-Z_]{3,})\)/.exec(text)?.[1] ?? '';
        // As ClickHouse maps them: bad input 400, unknown names 404, everything else 500.
        const status = /^(SYNTAX_ERROR|TYPE_MISMATCH|INCORRECT_DATA|CANNOT_PARSE_\w+)$/.test(type) ? 400 : type.startsWith('UNKNOWN_') ? 404 : 500;
        res.writeHead(status, { 'X-ClickHouse-Query-Id': queryId, 'X-ClickHouse-Exception-Code': String(code), 'Content-Type': 'text/plain; charset=UTF-8' });
        res.end(`${text}\n`);
      },
    );
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(port, host, ok));
  const address = server.address();
  const url = `http://${host}:${typeof address === 'object' && address ? address.port : port}`;
  return {
    url,
    close: async () => {
      const closed = new Promise((ok) => server.close(ok));
      server.closeAllConnections();
      await closed;
      await queue;
      session.close();
    },
  };
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [dataDir, port] = process.argv.slice(2);
  if (!dataDir) {
    console.error('usage: chdb-http-front.ts DATA_DIR [PORT]');
    process.exit(2);
  }
  const front = await serveChdb({ dataDir, port: Number(port ?? 0) });
  // The harness reads this line to learn the port.
  console.log(`listening ${front.url}`);
  const stop = () => void front.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
