import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { SubhostError } from '../errors';

export interface JsonAnswer {
  status: number;
  /** The body as JSON, or null when it is none. */
  body: unknown;
}

/**
 * The operator's NODE_EXTRA_CA_CERTS, which bin/subhost moves to SUBHOST_EXTRA_CA_CERTS so that Node
 * does not parse it at every start: added here to Node's own roots, as Node would have.
 */
export function extraCa(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const file = env.SUBHOST_EXTRA_CA_CERTS;
  if (!file) return undefined;
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SubhostError(`NODE_EXTRA_CA_CERTS ${file}: cannot read it: ${(err as Error).message.replace(/^[A-Z]+: /, '')}`);
  }
  return [...rootCertificates, pem];
}

/** One TLS context with those roots for every request of the process (a report makes a dozen): the certificates are parsed once. */
let extraContext: SecureContext | null | undefined;
function extraCaContext(): SecureContext | undefined {
  if (extraContext === undefined) {
    const ca = extraCa();
    extraContext = ca ? createSecureContext({ ca }) : null;
  }
  return extraContext ?? undefined;
}

/** GET a JSON document over http or https; rejects with Node's error (its code: ECONNREFUSED, CERT_HAS_EXPIRED, ...). */
export function getJson(url: URL, timeoutMs: number): Promise<JsonAnswer> {
  const secure = url.protocol === 'https:';
  const get = secure ? https.get : http.get;
  const secureContext = secure ? extraCaContext() : undefined;
  const options: https.RequestOptions = { signal: AbortSignal.timeout(timeoutMs), ...(secureContext ? { secureContext } : {}) };
  return new Promise((resolve, reject) => {
    const req = get(url, options, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('error', reject);
      res.on('end', () => {
        let body: unknown = null;
        try {
          body = JSON.parse(Buffer.concat(parts).toString('utf8'));
        } catch {
          // Not JSON: the caller reports the HTTP status.
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
  });
}
