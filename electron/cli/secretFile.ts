// Secrets read from files: the first line, so an editor's trailing newline is not part of the password.
import { readFileSync } from 'node:fs';
import { InputError, describeFsError } from '../engine/errors.js';

/** First line of a file, line ending stripped: passwords and secret values are read this way. */
export function readSecretFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(`${what}: ${describeFsError(err, path)}`);
  }
  const line = text.replace(/^\ufeff/, '').split(/\r?\n/)[0];
  if (line === '') throw new InputError(`${what}: the first line of ${path} is empty.`);
  return line;
}

