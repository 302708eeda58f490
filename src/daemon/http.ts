/**
 * The daemon's HTTP server: read-only, GET and HEAD only. Routes live in a RouteTable (exact path
 * -> handler, or a prefix for a folder of files); /metrics and /api/v1/* are added by routes.ts,
 * and the dashboard adds its own (`/`, its scripts and styles) the same way:
 *
 *   routes.add('/', (req) => html(page));
 *   routes.addPrefix('/static/', (req) => ...);
 *
 * A handler returns a Reply or throws HttpError (e.g. badRequest('since: ...')): the client gets
 * that status with {"error": message} as JSON. Any other error is a 500 with a JSON error, logged.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RouteRequest {
  method: 'GET' | 'HEAD';
  url: URL;
  /** The query string's parameters. */
  query: URLSearchParams;
  raw: IncomingMessage;
}

export interface Reply {
  status?: number;
  /** Content-Type */
  type: string;
  /** Parts are sent one after the other (no copy into one buffer). */
  body: string | Buffer | Buffer[];
  headers?: Record<string, string>;
}

export type Handler = (req: RouteRequest) => Reply | Promise<Reply>;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new HttpError(400, message);

export function json(value: unknown, status = 200): Reply {
  return { status, type: 'application/json; charset=utf-8', body: JSON.stringify(value) + '\n' };
}

export function text(body: Reply['body'], type = 'text/plain; charset=utf-8'): Reply {
  return { type, body };
}

export class RouteTable {
  private readonly exact = new Map<string, Handler>();
  private readonly prefixes: [string, Handler][] = [];

  add(path: string, handler: Handler): this {
    if (this.exact.has(path)) throw new Error(`route ${path} is taken`);
    this.exact.set(path, handler);
    return this;
  }

  /** Every path starting with prefix (a folder: end it with '/'); the longest prefix wins. */
  addPrefix(prefix: string, handler: Handler): this {
    this.prefixes.push([prefix, handler]);
    this.prefixes.sort((a, b) => b[0].length - a[0].length);
    return this;
  }

  find(path: string): Handler | undefined {
    return this.exact.get(path) ?? this.prefixes.find(([p]) => path.startsWith(p))?.[1];
  }

  paths(): string[] {
    return [...this.exact.keys(), ...this.prefixes.map(([p]) => `${p}*`)].sort();
  }
}

export interface HttpOptions {
  host: string;
  port: number;
  log: (line: string) => void;
}

function send(res: ServerResponse, head: boolean, r: Reply): void {
  const parts = typeof r.body === 'string' ? [Buffer.from(r.body)] : Array.isArray(r.body) ? r.body : [r.body];
  const length = parts.reduce((n, b) => n + b.length, 0);
  res.writeHead(r.status ?? 200, { 'content-type': r.type, 'content-length': String(length), 'cache-control': 'no-store', ...r.headers });
  if (!head) for (const b of parts) res.write(b);
  res.end();
}

async function handle(routes: RouteTable, req: IncomingMessage, res: ServerResponse, log: (l: string) => void): Promise<void> {
  const head = req.method === 'HEAD';
  try {
    if (req.method !== 'GET' && !head) {
      send(res, false, { ...json({ error: `${req.method} is not allowed: this server is read-only` }, 405), headers: { allow: 'GET, HEAD' } });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://daemon');
    const handler = routes.find(url.pathname);
    if (!handler) throw new HttpError(404, `no such path: ${url.pathname}`);
    send(res, head, await handler({ method: head ? 'HEAD' : 'GET', url, query: url.searchParams, raw: req }));
  } catch (err) {
    if (err instanceof HttpError) send(res, head, json({ error: err.message }, err.status));
    else {
      log(`http: ${req.method} ${req.url}: ${(err as Error).stack ?? err}`);
      send(res, head, json({ error: `internal error: ${(err as Error).message}` }, 500));
    }
  }
}

/** Listen on host:port; resolves once listening (rejects when the address cannot be had). */
export function startHttp(routes: RouteTable, opts: HttpOptions): Promise<Server> {
  const server = createServer((req, res) => void handle(routes, req, res, opts.log));
  // A scraper keeping its connection open must not hold the daemon's exit.
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** Stop accepting, close idle connections, and resolve once the last request is answered. */
export function stopHttp(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
