// The loopback host's sessions and the one-time codes that start them. The address tsmedia prints carries a code, not
// a key: the page exchanges it once (POST HOST_SESSION_PATH) for a session secret it keeps in memory and sends as a
// header; the address left in the browser's history then opens nothing. With the secret the page also gets a resume
// code, which it stores for the tab only while it reloads (sessionStorage reaches the profile's files, so the secret
// itself never goes there): it works once, and only while the page's event stream is open or for a short grace after
// the session was last seen. Codes and secrets are kept as SHA-256 digests, so a lookup reveals nothing by its timing.
import { createHash, randomBytes } from 'node:crypto';

export type CodeRefusal = 'code-unknown' | 'code-used' | 'code-expired';

export interface Session {
  /** Open event streams of this session. */
  streams: number;
  /** When a request or a closing event stream last showed the session alive (ms since the epoch). */
  lastSeen: number;
  /** Ended by the resume code's use (the page reloaded): its secret no longer opens anything. */
  ended: boolean;
  /** Called when the session ends (its event streams close). */
  readonly onEnd: Set<() => void>;
}

export type Exchange = { ok: true; session: string; resume: string } | { ok: false; reason: CodeRefusal; message: string };

interface CodeEntry {
  kind: 'address' | 'resume';
  /** An address code's deadline; a resume code's lifetime follows its session instead. */
  expiresAt: number;
  session: Session | null;
}

export interface HostSessionsOptions {
  /** How long an unused address code works. */
  codeTtlMs: number;
  /** How long a resume code outlives its session's last sign of life (its last event stream, its last request). */
  resumeGraceMs: number;
  now?: () => number;
}

/** How many spent codes are remembered, to say "already used" or "expired" rather than "not valid". */
const SPENT_REMEMBERED = 1024;

const digest = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');
const newSecret = (): string => randomBytes(32).toString('hex');

export const NEW_ADDRESS_HINT = 'ask tsmedia for a new address (where `npm start` runs, press Enter)';

const REFUSALS: Record<CodeRefusal, (o: HostSessionsOptions) => string> = {
  'code-unknown': () => `this one-time code is not valid: ${NEW_ADDRESS_HINT}.`,
  'code-used': () => `this one-time code was already used (each address tsmedia prints works once): ${NEW_ADDRESS_HINT}.`,
  'code-expired': (o) =>
    `this one-time code has expired (an address works for ${Math.round(o.codeTtlMs / 60_000)} minutes, a reload within ${Math.round(o.resumeGraceMs / 1000)} s of the page's last contact): ${NEW_ADDRESS_HINT}.`,
};

export class HostSessions {
  private readonly codes = new Map<string, CodeEntry>();
  private readonly spent = new Map<string, 'code-used' | 'code-expired'>();
  private readonly sessions = new Map<string, Session>();
  private readonly now: () => number;

  constructor(private readonly o: HostSessionsOptions) {
    this.now = o.now ?? Date.now;
  }

  /** A new one-time code for an address (another window, or a first one). */
  newCode(): string {
    this.sweep();
    const code = newSecret();
    this.codes.set(digest(code), { kind: 'address', expiresAt: this.now() + this.o.codeTtlMs, session: null });
    return code;
  }

  /** Spends a code: a new session (secret and resume code), or why not. A resume code ends the session it came with. */
  exchange(code: string): Exchange {
    this.sweep();
    const key = digest(code);
    const entry = this.codes.get(key);
    if (!entry) {
      const reason = this.spent.get(key) ?? 'code-unknown';
      return { ok: false, reason, message: REFUSALS[reason](this.o) };
    }
    this.codes.delete(key);
    if (!this.valid(entry)) {
      this.remember(key, 'code-expired');
      return { ok: false, reason: 'code-expired', message: REFUSALS['code-expired'](this.o) };
    }
    this.remember(key, 'code-used');
    if (entry.session) this.end(entry.session);
    const secret = newSecret();
    const session: Session = { streams: 0, lastSeen: this.now(), ended: false, onEnd: new Set() };
    this.sessions.set(digest(secret), session);
    const resume = newSecret();
    this.codes.set(digest(resume), { kind: 'resume', expiresAt: 0, session });
    return { ok: true, session: secret, resume };
  }

  /** The live session a secret opens, or null; a hit counts as a sign of life. */
  find(secret: string): Session | null {
    const s = this.sessions.get(digest(secret));
    if (!s || s.ended) return null;
    s.lastSeen = this.now();
    return s;
  }

  streamOpened(s: Session): void {
    s.streams += 1;
  }

  streamClosed(s: Session): void {
    s.streams = Math.max(0, s.streams - 1);
    s.lastSeen = this.now();
  }

  /** Forgets every session and code (the host is closing). */
  clear(): void {
    for (const s of this.sessions.values()) this.end(s);
    this.sessions.clear();
    this.codes.clear();
  }

  private valid(entry: CodeEntry): boolean {
    if (entry.kind === 'address') return this.now() <= entry.expiresAt;
    const s = entry.session;
    return s !== null && !s.ended && (s.streams > 0 || this.now() - s.lastSeen <= this.o.resumeGraceMs);
  }

  private end(s: Session): void {
    if (s.ended) return;
    s.ended = true;
    for (const [k, v] of this.sessions) if (v === s) this.sessions.delete(k);
    for (const f of [...s.onEnd]) f();
  }

  private remember(key: string, why: 'code-used' | 'code-expired'): void {
    this.spent.set(key, why);
    while (this.spent.size > SPENT_REMEMBERED) this.spent.delete(this.spent.keys().next().value as string);
  }

  /** Codes past their time become "expired" (so the map holds only codes that still work). */
  private sweep(): void {
    for (const [k, e] of this.codes) {
      if (!this.valid(e)) {
        this.codes.delete(k);
        this.remember(k, 'code-expired');
      }
    }
  }
}
