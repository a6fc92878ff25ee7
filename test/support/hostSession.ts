// A session with a loopback host, started as the page starts it: a one-time code (LoopbackHost.newCode, or the
// `#code=` of its address) exchanged by POST /api/session for the secret that API calls and event streams carry.
import { request } from 'node:http';
import { HOST_SESSION_HEADER, HOST_SESSION_PATH } from '../../shared/ipc.js';

export interface ExchangeReply {
  status: number;
  body: string;
  session: string | null;
  resume: string | null;
  reason: string | null;
}

/** Exchanges a code; the reply as it came (a refusal is no error here). */
export function exchangeCode(port: number, code: string, headers: Record<string, string> = {}): Promise<ExchangeReply> {
  return new Promise((ok, fail) => {
    // agent: false — a connection of its own, closed after the reply (a kept-alive one would count against the host's limit).
    const req = request({ host: '127.0.0.1', port, path: HOST_SESSION_PATH, method: 'POST', agent: false, headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let o: Record<string, unknown> = {};
        try {
          o = JSON.parse(body) as Record<string, unknown>;
        } catch {
          o = {};
        }
        const text = (k: string): string | null => (typeof o[k] === 'string' ? (o[k] as string) : null);
        ok({ status: res.statusCode ?? 0, body, session: text('session'), resume: text('resume'), reason: text('reason') });
      });
    });
    req.on('error', fail);
    req.end(JSON.stringify({ code }));
  });
}

/** The session secret a code opens; fails with the host's reply otherwise. */
export async function openSession(port: number, code: string): Promise<string> {
  const r = await exchangeCode(port, code);
  if (r.status !== 200 || r.session === null) throw new Error(`the host refused the code: ${r.status} ${r.body}`);
  return r.session;
}

/** The header that carries a session. */
export const sessionHeader = (session: string): Record<string, string> => ({ [HOST_SESSION_HEADER]: session });
