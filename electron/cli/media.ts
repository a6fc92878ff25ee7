// `tsmedia verify` and `tsmedia inspect` over ISO sets.
import { parseArgs } from 'node:util';
import { InputError } from '../engine/errors.js';
import { inspectMedia } from '../engine/media/MediaInspector.js';
import { looksLikeIso, verifyFat32Media, verifyIsoSet } from '../engine/media/MediaVerifier.js';
import { readSecretFile, type Io } from './create.js';
import { formatBytes, secureBootText } from './format.js';

function parse(args: string[], options: { 'password-file'?: { type: 'string' }; 'image-hash'?: { type: 'boolean' } }): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    return parseArgs({ args, options: { json: { type: 'boolean' }, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new InputError(`${(err as Error).message.replace(/\. To specify.*$/s, '.')}\nRun "tsmedia help" for usage.`);
  }
}

export async function runVerify(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { 'image-hash': { type: 'boolean' } });
  if (positionals.length === 0) throw new InputError('verify needs the media: PATH.iso (every disc of a set).');
  const r =
    positionals.length === 1 && !looksLikeIso(positionals[0])
      ? await verifyFat32Media(positionals[0], { checkExtraFiles: false })
      : await verifyIsoSet(positionals, { checkImageHashes: values['image-hash'] === true });
  if (values.json) {
    io.out(JSON.stringify({ status: r.status, filesChecked: r.filesChecked, bytesChecked: r.bytesChecked, problems: r.problems, unreadable: r.unreadable, ...(r.interruptedRefresh ? { interruptedRefresh: r.interruptedRefresh } : {}) }, null, 2));
    return r.status;
  }
  const ir = r.interruptedRefresh;
  const finisher = '"tsmedia refresh" (or "tsmedia create --no-format")';
  if (ir && ir.holds === 'changing') io.out(`note: an interrupted write left this volume (${ir.state}): its changes were being made in place from a whole journal, so some files may differ from the manifest; the next ${finisher} finishes it.`);
  else if (ir && ir.state === 'rewrite') io.out(`note: an interrupted write left this volume (${ir.state}): it holds the new media whole, its journal not yet cleared; the next ${finisher} finishes it.`);
  else if (ir) io.out(`note: an interrupted refresh left this volume (${ir.state}): it holds the ${ir.holds} media whole; the next "tsmedia refresh" ${ir.next === 'roll-back' ? 'rolls it back and refreshes again' : 'finishes it'}.`);
  for (const u of r.unreadable) io.err(`unreadable: ${u}`);
  for (const p of r.problems) io.out(`DIFFERS ${p.path}${p.disc ? ` (disc ${p.disc})` : ''}: ${p.problem}`);
  if (r.status === 0) io.out(`OK: ${r.filesChecked} files, ${formatBytes(r.bytesChecked)} match the manifest${r.manifest ? ` (${r.manifest.discs} disc(s), ${r.manifest.label})` : ''}.`);
  else if (r.status === 1) io.out(`${r.problems.length} problem(s): the media does not match its manifest.`);
  return r.status;
}

export async function runInspect(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { 'password-file': { type: 'string' } });
  if (positionals.length === 0) throw new InputError('inspect needs the media: PATH.iso.');
  const pwFile = values['password-file'];
  const password = typeof pwFile === 'string' ? readSecretFile(pwFile, '--password-file') : null;
  const r = inspectMedia(positionals, password);
  if (values.json) {
    io.out(JSON.stringify(r, null, 2));
    return 0;
  }
  io.out(`label: ${r.label} (volume ${r.volumeId})`);
  io.out(`task sequence: ${r.taskSequence.packageId ?? '-'} ${r.taskSequence.name}`);
  io.out(`media GUID: ${r.mediaGuid}`);
  io.out(`password required: ${r.passwordRequired ? 'yes' : 'no'}; unattended: ${r.unattended ? 'yes' : 'no'}; discs: ${r.discs}`);
  io.out('packages:');
  for (const p of r.packages) io.out(`  ${p.packageId}  ${p.files} files  ${formatBytes(p.bytes)}`);
  const sp = r.startPrograms;
  io.out(
    sp.architectures.length
      ? `start from Windows: SMS\\bin (${sp.architectures.map((a) => `${a.name}: ${a.files} files`).join(', ')}); autorun.inf ${sp.autorun ? `opens ${sp.autorun}` : 'not on the media'}`
      : 'start from Windows: not possible, no SMS\\bin on the media (it can only be booted)',
  );
  if (r.variables) {
    io.out('variables:');
    for (const v of r.variables) io.out(`  ${v.name} = ${v.value.length > 120 ? `${v.value.slice(0, 60)}… (${v.value.length} characters)` : v.value}`);
  }
  io.out('Secure Boot (EFI boot files):');
  for (const line of secureBootText(r.secureBoot, 'no EFI boot files on the media: it does not boot under UEFI')) io.out(line);
  if (r.note) io.out(`note: ${r.note}`);
  return 0;
}
