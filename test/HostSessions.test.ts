// The loopback host's one-time codes and sessions (HostSessions) on a clock the test moves: a code opens one session
// once, a code or secret differing in any one character opens nothing, an address code works up to its lifetime and
// no longer, a resume code only while its page's event stream is open or within the grace after its last contact,
// and spent codes are told apart from unknown ones for as long as they are remembered. The host's HTTP side is in
// HostChecks.test and LoopbackHost.test.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HostSessions, NEW_ADDRESS_HINT, type Exchange } from '../electron/host/HostSessions.js';

const TTL = 10 * 60_000;
const GRACE = 30_000;

function sessions(): { s: HostSessions; clock: { t: number } } {
  const clock = { t: 1_000_000 };
  return { s: new HostSessions({ codeTtlMs: TTL, resumeGraceMs: GRACE, now: () => clock.t }), clock };
}

function opened(e: Exchange): { session: string; resume: string } {
  assert.equal(e.ok, true, e.ok ? '' : e.message);
  if (!e.ok) throw new Error('unreachable');
  return { session: e.session, resume: e.resume };
}

function refused(e: Exchange): string {
  assert.equal(e.ok, false);
  if (e.ok) throw new Error('unreachable');
  return e.reason;
}

/** Each character of a hex secret changed in turn: the secrets a check of only part of it would take. */
function everyCharChanged(secret: string): string[] {
  return [...secret].map((c, i) => secret.slice(0, i) + (c === '0' ? '1' : '0') + secret.slice(i + 1));
}

describe('host sessions', () => {
  test('codes and secrets: 64 hex digits, all different; the hint says where a new address comes from', () => {
    const { s } = sessions();
    const a = s.newCode();
    const b = s.newCode();
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.notEqual(a, b);
    const { session, resume } = opened(s.exchange(a));
    assert.match(session, /^[0-9a-f]{64}$/);
    assert.match(resume, /^[0-9a-f]{64}$/);
    assert.equal(new Set([a, b, session, resume]).size, 4);
    assert.equal(NEW_ADDRESS_HINT, 'ask tsmedia for a new address (where `npm start` runs, press Enter)');
  });

  test('a code opens one session, once; a code or secret differing in any one character opens nothing', () => {
    const { s } = sessions();
    const code = s.newCode();
    for (const near of everyCharChanged(code)) assert.equal(refused(s.exchange(near)), 'code-unknown');
    const { session } = opened(s.exchange(code));
    const again = s.exchange(code);
    assert.equal(refused(again), 'code-used');
    assert.equal(again.ok ? '' : again.message, `this one-time code was already used (each address tsmedia prints works once): ${NEW_ADDRESS_HINT}.`);
    const unknown = s.exchange('a'.repeat(64));
    assert.equal(refused(unknown), 'code-unknown');
    assert.equal(unknown.ok ? '' : unknown.message, `this one-time code is not valid: ${NEW_ADDRESS_HINT}.`);
    assert.notEqual(s.find(session), null);
    for (const near of everyCharChanged(session)) assert.equal(s.find(near), null, near);
    assert.equal(s.find(''), null);
    assert.equal(s.find(code), null, 'the code is not the secret');
  });

  test('an address code works up to its lifetime, to the millisecond, and then says it expired', () => {
    const { s, clock } = sessions();
    const code = s.newCode();
    const late = s.newCode();
    clock.t += TTL;
    opened(s.exchange(code));
    clock.t += 1;
    const e = s.exchange(late);
    assert.equal(refused(e), 'code-expired');
    assert.equal(
      e.ok ? '' : e.message,
      `this one-time code has expired (an address works for 10 minutes, a reload within 30 s of the page's last contact): ${NEW_ADDRESS_HINT}.`,
    );
    assert.equal(refused(s.exchange(late)), 'code-expired', 'an expired code stays expired, not unknown');
  });

  test('a code past its lifetime is swept as expired by any later call, not only by its own exchange', () => {
    const { s, clock } = sessions();
    const code = s.newCode();
    clock.t += TTL + 1;
    s.newCode();
    assert.equal(refused(s.exchange(code)), 'code-expired');
  });

  test('a find counts as a sign of life; a lookup of an unknown secret changes nothing', () => {
    const { s, clock } = sessions();
    const { session } = opened(s.exchange(s.newCode()));
    clock.t += 5_000;
    const found = s.find(session);
    assert.notEqual(found, null);
    assert.equal(found?.lastSeen, clock.t);
    assert.equal(found?.ended, false);
    assert.equal(found?.streams, 0);
  });

  test('a resume code: within the grace of the last contact, to the millisecond; a reload ends the old session and its streams', () => {
    const { s, clock } = sessions();
    const first = opened(s.exchange(s.newCode()));
    const old = s.find(first.session);
    assert.ok(old);
    let ends = 0;
    old.onEnd.add(() => (ends += 1));
    clock.t += GRACE;
    const second = opened(s.exchange(first.resume));
    assert.equal(ends, 1, 'the old session ended once');
    assert.equal(old.ended, true);
    assert.equal(s.find(first.session), null, 'the secret before the reload opens nothing');
    assert.notEqual(s.find(second.session), null);
    assert.equal(refused(s.exchange(first.resume)), 'code-used');
    clock.t += GRACE + 1;
    assert.equal(refused(s.exchange(second.resume)), 'code-expired');
    // The session itself stays: it lives in the page's memory only.
    assert.notEqual(s.find(second.session), null);
  });

  test("a reload ends only its own session: another window's goes on", () => {
    const { s } = sessions();
    const one = opened(s.exchange(s.newCode()));
    const two = opened(s.exchange(s.newCode()));
    opened(s.exchange(one.resume));
    assert.equal(s.find(one.session), null);
    assert.notEqual(s.find(two.session), null);
    assert.equal(s.find(two.session)?.ended, false);
  });

  test('an open event stream keeps the resume code working past the grace; a closed one restarts the grace', () => {
    const { s, clock } = sessions();
    const first = opened(s.exchange(s.newCode()));
    const session = s.find(first.session);
    assert.ok(session);
    s.streamOpened(session);
    s.streamOpened(session);
    assert.equal(session.streams, 2);
    s.streamClosed(session);
    assert.equal(session.streams, 1);
    clock.t += GRACE * 10;
    const second = opened(s.exchange(first.resume));
    const next = s.find(second.session);
    assert.ok(next);
    s.streamOpened(next);
    clock.t += GRACE * 10;
    s.streamClosed(next);
    assert.equal(next.streams, 0);
    assert.equal(next.lastSeen, clock.t, 'a closing stream is a sign of life');
    s.streamClosed(next);
    assert.equal(next.streams, 0, 'never below none');
    clock.t += GRACE;
    opened(s.exchange(second.resume));
  });

  test("a resume code of a session that ended otherwise (the host closing) opens nothing, even within the grace", () => {
    const { s } = sessions();
    const first = opened(s.exchange(s.newCode()));
    const session = s.find(first.session);
    assert.ok(session);
    let ends = 0;
    session.onEnd.add(() => (ends += 1));
    s.clear();
    assert.equal(ends, 1);
    assert.equal(session.ended, true);
    assert.equal(s.find(first.session), null);
    assert.equal(refused(s.exchange(first.resume)), 'code-unknown', 'clear forgets the codes');
    s.clear();
    assert.equal(ends, 1, 'a session ends once');
  });

  test('the last 1024 spent codes are told apart from unknown ones; older ones are forgotten', () => {
    const { s } = sessions();
    const codes = Array.from({ length: 1025 }, () => s.newCode());
    for (const c of codes) opened(s.exchange(c));
    // Each exchange spent an address code; resume codes are still live, so the 1025 spent are address codes.
    assert.equal(refused(s.exchange(codes[0])), 'code-unknown', 'the oldest is forgotten');
    assert.equal(refused(s.exchange(codes[1])), 'code-used');
    assert.equal(refused(s.exchange(codes[1024])), 'code-used');
  });
});
