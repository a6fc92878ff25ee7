// Reads the loopback host's /api/events stream (Server-Sent Events) and collects MediaEvents until `until` says stop.
import { request } from 'node:http';
import { HOST_SESSION_HEADER, type MediaEvent } from '../../shared/ipc.js';

export interface EventStreamOptions {
  port: number;
  /** The session secret (support/hostSession.ts), sent as the page sends it: a header. */
  session: string;
  /** Called with the events so far after each block; true ends the stream. */
  until: (all: MediaEvent[]) => boolean;
  timeoutMs?: number;
  /** Sees every chunk of the stream as it arrives (a scan for secrets keeps them). */
  onChunk?: (chunk: string) => void;
  /** Checks on the response before anything is read (status, content type). */
  onResponse?: (status: number, contentType: string) => void;
}

/** `ready` once the host says the stream is connected; `done` with every event once `until` is true. */
export function readMediaEvents(o: EventStreamOptions): { ready: Promise<void>; done: Promise<MediaEvent[]> } {
  const timeoutMs = o.timeoutMs ?? 120_000;
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  const done = new Promise<MediaEvent[]>((ok, fail) => {
    const got: MediaEvent[] = [];
    const req = request({ host: '127.0.0.1', port: o.port, path: '/api/events', headers: { host: `127.0.0.1:${o.port}`, accept: 'text/event-stream', [HOST_SESSION_HEADER]: o.session } }, (res) => {
      try {
        o.onResponse?.(res.statusCode ?? 0, String(res.headers['content-type']));
      } catch (err) {
        req.destroy();
        fail(err as Error);
        return;
      }
      // As on the request: a reset once the stream is no longer wanted (Windows resets where Linux closes) is no failure.
      res.on('error', (err) => {
        if (!(err as NodeJS.ErrnoException).code?.includes('ECONNRESET')) fail(err);
      });
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        o.onChunk?.(chunk);
        buf += chunk;
        if (buf.includes(': connected')) ready();
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          for (const line of block.split('\n')) if (line.startsWith('data: ')) got.push(JSON.parse(line.slice(6)) as MediaEvent);
          if (o.until(got)) {
            clearTimeout(timer);
            req.destroy();
            ok(got);
            return;
          }
        }
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      fail(new Error(`no end of the job within ${timeoutMs} ms; events: ${JSON.stringify(got.map((e) => e.type))}`));
    }, timeoutMs);
    req.on('error', (err) => {
      if (!(err as NodeJS.ErrnoException).code?.includes('ECONNRESET')) fail(err);
    });
    req.end();
  });
  return { ready: readyP, done };
}
