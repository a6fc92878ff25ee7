// What checkOutput says about the media file's place, under its field: "Can be written: network share \\server\share —
// free space not reported", "… 12.3 GiB free, the media needs 2.1 GiB", or why it cannot be written (which blocks Next:
// validation.ts). The engine decides; this shows it.
import { useEffect, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { OutputCheck } from '../../../shared/ipc.js';
import { EngineMessage } from '../components/EngineMessage.js';
import { formatBytes } from '../format.js';
import { fromEngine } from '../messages.js';
import { outputCheckRequest } from '../request.js';
import type { PageId } from '../stores/answers.js';
import { useAnswers } from '../stores/answers.js';
import { useSite } from '../stores/site.js';

/** Typing pauses this long before the place is asked about. */
const DEBOUNCE_MS = 350;
/** While the page shows the line, it is asked again this often: a folder created or a share connected meanwhile counts. */
const REFRESH_MS = 3000;

/**
 * Keeps the media file's check in step with the path and the media's size, on every page (the Summary names the Media
 * Type page when the file cannot be written); on the pages that show it, it is refreshed while they are open.
 */
export function useOutputCheck(page: PageId): void {
  const a = useAnswers();
  const check = useSite((s) => s.check.value);
  const checkOutput = useSite((s) => s.checkOutput);
  const req = outputCheckRequest(a, check);
  const key = req ? JSON.stringify(req) : null;
  const shown = page === 'mediaType' || page === 'summary';
  useEffect(() => {
    if (!req) return;
    const first = window.setTimeout(() => void checkOutput(req), DEBOUNCE_MS);
    const again = shown ? window.setInterval(() => void checkOutput(req, true), REFRESH_MS) : undefined;
    return () => {
      window.clearTimeout(first);
      if (again !== undefined) window.clearInterval(again);
    };
    // `req` is new on every render; its key says when it changed.
  }, [key, shown, checkOutput]);
}

/** The check of `key`'s request when it has answered, else null (still asking, or asked about another path). */
export function currentOutput(output: { key: string | null; value: OutputCheck | null }, key: string | null): OutputCheck | null {
  return key !== null && output.key === key ? output.value : null;
}

function PlaceText({ c }: { c: OutputCheck }) {
  const { t } = useTranslation();
  const where = c.share
    ? c.share.mountedAt
      ? t('outputCheck.shareAt', { share: c.share.name, at: c.share.mountedAt })
      : t('outputCheck.share', { share: c.share.name })
    : t('outputCheck.folder', { folder: c.folder });
  let space: string;
  if (c.free === null) space = t('outputCheck.freeUnknown');
  else if (c.neededBytes === null) space = t('outputCheck.free', { free: formatBytes(c.free) });
  else space = t('outputCheck.freeNeeded', { free: formatBytes(c.free), needed: formatBytes(c.neededBytes) });
  return (
    <>
      {t('outputCheck.writable', { where })} —{' '}
      <span data-testid="output-space" title={c.freeUnknown ?? undefined}>
        {space}
      </span>
    </>
  );
}

/** The line under the Media file (or Image file) field; `id` is what the field's aria-describedby names. */
export function OutputCheckLine({ id }: { id: string }) {
  const { t } = useTranslation();
  const a = useAnswers();
  const check = useSite((s) => s.check.value);
  const output = useSite((s) => s.output);
  const req = outputCheckRequest(a, check);
  const key = req ? JSON.stringify(req) : null;
  const c = currentOutput(output, key);
  let body: ReactNode = null;
  let state = 'none';
  if (req && c?.problem) {
    state = 'problem';
    body = <EngineMessage message={c.problem} coded={fromEngine(c.problemDetail)} frame="outputCheck.cannot" />;
  } else if (req && c) {
    state = 'ok';
    body = <PlaceText c={c} />;
  } else if (req && output.key === key && output.error) {
    state = 'failed';
    body = <EngineMessage message={output.error} coded={fromEngine(output.errorDetail)} frame="outputCheck.failed" />;
  } else if (req) {
    state = 'checking';
    body = t('outputCheck.checking');
  }
  return (
    <p id={id} className={`output-check ${state === 'ok' ? 'ok' : state === 'checking' || state === 'none' ? 'help' : 'field-error'}`} role="status" data-testid="output-check" data-state={state}>
      {body}
    </p>
  );
}
