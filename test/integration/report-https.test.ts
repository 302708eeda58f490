import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliAsync } from '../helpers/cli';
import { makeTestRoot, removeTestRoot } from '../helpers/env';

/**
 * `report --prometheus https://` trusts the operator's NODE_EXTRA_CA_CERTS, which bin/subhost keeps
 * from Node's start (SUBHOST_EXTRA_CA_CERTS). The server is a Prometheus API of no series behind a
 * certificate of a CA made here; the report is the same empty one Prometheus would give.
 */
let root: string;
let server: Server;
let url: string;
const asked: string[] = [];

beforeAll(async () => {
  root = makeTestRoot();
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=subhost test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
  writeFileSync(join(root, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.pem');
  server = createServer({ key: readPem('server.key'), cert: readPem('server.pem') }, (req, res) => {
    asked.push(new URL(req.url ?? '/', 'https://x').pathname);
    const data = req.url?.startsWith('/api/v1/targets') ? { activeTargets: [{ scrapeInterval: '10s' }] } : { resultType: 'matrix', result: [] };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'success', data }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
}, 30_000);

function readPem(file: string): string {
  return readFileSync(join(root, file), 'utf8');
}

afterAll(() => {
  server?.close();
  if (root) removeTestRoot(root);
});

describe('subhost report --prometheus https://', () => {
  it('trusts the CA of NODE_EXTRA_CA_CERTS', async () => {
    const r = await cliAsync(['report', '--prometheus', url, '--since', '1h', '--format', 'json'], { env: { NODE_EXTRA_CA_CERTS: join(root, 'ca.pem') } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).periods).toBeDefined();
    expect(asked).toContain('/api/v1/query_range');
  });

  it('refuses the server without it, naming why', async () => {
    const r = await cliAsync(['report', '--prometheus', url, '--since', '1h'], { env: { NODE_EXTRA_CA_CERTS: undefined } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`subhost: report: prometheus ${url}/: UNABLE_TO_VERIFY_LEAF_SIGNATURE\n`);
  });

  it('names a CA file it cannot read', async () => {
    const r = await cliAsync(['report', '--prometheus', url, '--since', '1h'], { env: { NODE_EXTRA_CA_CERTS: join(root, 'missing.pem') } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`subhost: report: NODE_EXTRA_CA_CERTS ${join(root, 'missing.pem')}: cannot read it: no such file or directory, open '${join(root, 'missing.pem')}'\n`);
  });
});
