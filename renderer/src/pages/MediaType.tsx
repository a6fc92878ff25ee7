// Page 2: Media Type — a removable USB drive (or an image file of one) or a CD/DVD set; the staging folder, the media
// label, autorun.inf and the 32-bit OSD binaries (both offered only where the site's OSD binaries allow them). The
// drive list is refreshed every second; the size, disc plan and 4 GiB check come from checkMedia once a task sequence
// is chosen.
import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { formatDate, formatDriveBytes } from '../format.js';
import type { ListedDrive } from '../../../shared/ipc.js';
import { DISC_SIZE_LABELS, mediaLabelIssue } from '../../../shared/media.js';
import type { DiscSizeName } from '../../../shared/media.js';
import { api } from '../api.js';
import { EngineMessage } from '../components/EngineMessage.js';
import { PathField } from '../components/PathField.js';
import { driveConstraintText, fromEngine, fromRule } from '../messages.js';
import { i386Unavailable, osdProblem } from '../osd.js';
import { useAnswers } from '../stores/answers.js';
import { useSite } from '../stores/site.js';
import { existingFor, selectedDrive } from '../validation.js';
import { MediaCheckView } from './MediaCheckView.js';
import { OutputCheckLine } from './OutputCheckView.js';

const SIZES: (DiscSizeName | 'custom')[] = ['cd650', 'cd700', 'dvd', 'dvd-dl', 'unlimited', 'custom'];

export function useDrivePolling(active: boolean): void {
  const showAll = useAnswers((s) => s.mediaType.showAllDrives);
  const needed = useSite((s) => s.check.value?.contentBytes ?? 0);
  const refresh = useSite((s) => s.refreshDrives);
  useEffect(() => {
    if (!active) return;
    const tick = (): void => void refresh({ showAll, neededBytes: needed });
    tick();
    const timer = window.setInterval(tick, 1000);
    return () => window.clearInterval(timer);
  }, [active, showAll, needed, refresh]);
}

export function MediaTypePage() {
  const { t } = useTranslation();
  const m = useAnswers((s) => s.mediaType);
  const tsChosen = useAnswers((s) => s.taskSequence.id !== null);
  const update = useAnswers((s) => s.update);
  const set = (patch: Partial<typeof m>): void => update('mediaType', patch);
  const labelIssue = mediaLabelIssue(m.label);

  return (
    <>
      <p className="intro">{t('mediaType.intro')}</p>
      <fieldset>
        <legend>{t('mediaType.mediaLegend')}</legend>
        <div className="choice">
          <input type="radio" id="media-usb" name="media" checked={m.media === 'usb'} onChange={() => set({ media: 'usb' })} />
          <label htmlFor="media-usb">{t('mediaType.usb')}</label>
        </div>
        <div className="choice">
          <input type="radio" id="media-iso" name="media" checked={m.media === 'iso'} onChange={() => set({ media: 'iso' })} />
          <label htmlFor="media-iso">{t('mediaType.iso')}</label>
        </div>
      </fieldset>

      {m.media === 'usb' ? <UsbOptions /> : null}
      {m.media === 'iso' ? <IsoOptions /> : null}

      {m.media ? (
        <>
          <PathField
            label={t('mediaType.staging')}
            value={m.staging}
            onChange={(v) => set({ staging: v })}
            browse={() => api.chooseFolder(t('mediaType.staging'))}
            placeholder={t('mediaType.stagingPlaceholder')}
            help={t('mediaType.stagingHelp')}
          />
          <div className="field">
            <label htmlFor="media-label">{t('mediaType.label')}</label>
            <input
              id="media-label"
              type="text"
              value={m.label}
              maxLength={64}
              aria-invalid={labelIssue !== null}
              aria-describedby="media-label-help media-label-problem"
              onChange={(e) => set({ label: e.target.value })}
            />
            <p id="media-label-help" className="help">
              {t('mediaType.labelHelp')}
            </p>
            <p id="media-label-problem" className="field-error" role="status">
              {labelIssue ? <EngineMessage message={labelIssue.message} coded={fromRule('mediaLabel', labelIssue)} frame="engine.rule" /> : null}
            </p>
          </div>
          <StartFromWindowsOptions />
          <section aria-labelledby="check-heading" className="check-box">
            <h3 id="check-heading">{m.media === 'usb' ? t('mediaType.checkUsbHeading') : t('mediaType.checkIsoHeading')}</h3>
            {tsChosen ? <MediaCheckView media={m.media} /> : <p className="help">{t('mediaType.checkLater')}</p>}
          </section>
        </>
      ) : null}
    </>
  );
}

/**
 * autorun.inf and SMS\bin\i386: both need the site's OSD binaries. Where the site cannot give them the box is
 * disabled and unticked (App.tsx keeps the answer false), with the reason beside it.
 */
function StartFromWindowsOptions() {
  const { t } = useTranslation();
  const m = useAnswers((s) => s.mediaType);
  const update = useAnswers((s) => s.update);
  const osd = useSite((s) => s.info.value?.osdBinaries ?? null);
  const set = (patch: Partial<typeof m>): void => update('mediaType', patch);
  const noAutorun = osdProblem(osd);
  const noI386 = i386Unavailable(osd);
  return (
    <>
      <div className="choice">
        <input
          type="checkbox"
          id="autorun"
          checked={m.autorun && noAutorun === null}
          disabled={noAutorun !== null}
          onChange={(e) => set({ autorun: e.target.checked })}
          aria-describedby={noAutorun === null ? 'autorun-help' : 'autorun-help autorun-unavailable'}
        />
        <label htmlFor="autorun">{t('mediaType.autorun')}</label>
        <p id="autorun-help" className="help">
          {t('mediaType.autorunHelp')}
        </p>
        {noAutorun !== null ? (
          <p id="autorun-unavailable" className="help unavailable" data-testid="autorun-unavailable">
            <strong>{t('mediaType.autorunUnavailable')}</strong> <EngineMessage message={noAutorun} frame="engine.detail" />
          </p>
        ) : null}
      </div>
      <div className="choice">
        <input
          type="checkbox"
          id="i386-binaries"
          checked={m.i386Binaries && noI386 === null}
          disabled={noI386 !== null}
          onChange={(e) => set({ i386Binaries: e.target.checked })}
          aria-describedby={
            noI386 === null ? 'i386-binaries-help' : `i386-binaries-help i386-binaries-unavailable${noI386.key === 'i386NoBinaries' ? ' autorun-unavailable' : ''}`
          }
        />
        <label htmlFor="i386-binaries">{t('mediaType.i386Binaries')}</label>
        <p id="i386-binaries-help" className="help">
          {t('mediaType.i386BinariesHelp')}
        </p>
        {noI386 !== null ? (
          <p id="i386-binaries-unavailable" className="help unavailable" data-testid="i386-unavailable">
            {/* Without any OSD binaries, the reason is the one under autorun.inf: not repeated here. */}
            <strong>{noI386.key === 'i386NoFolder' ? t('mediaType.i386NoFolder', { location: noI386.location }) : t('mediaType.i386NoBinaries')}</strong>
          </p>
        ) : null}
      </div>
    </>
  );
}

function UsbOptions() {
  const { t } = useTranslation();
  const m = useAnswers((s) => s.mediaType);
  const update = useAnswers((s) => s.update);
  const set = (patch: Partial<typeof m>): void => update('mediaType', patch);
  const several = m.usbTarget === 'drive' && m.severalDrives;
  const refreshing = m.usbTarget === 'drive' && !m.severalDrives && m.refresh && m.drive !== null;
  return (
    <>
      <fieldset>
        <legend>{t('mediaType.usbTargetLegend')}</legend>
        <div className="choice">
          <input type="radio" id="usb-target-drive" name="usb-target" checked={m.usbTarget === 'drive'} onChange={() => set({ usbTarget: 'drive' })} />
          <label htmlFor="usb-target-drive">{t('mediaType.usbTargetDrive')}</label>
        </div>
        <div className="choice">
          <input type="radio" id="usb-target-image" name="usb-target" checked={m.usbTarget === 'image'} onChange={() => set({ usbTarget: 'image' })} aria-describedby="usb-target-image-help" />
          <label htmlFor="usb-target-image">{t('mediaType.usbTargetImage')}</label>
          <p id="usb-target-image-help" className="help">
            {t('mediaType.usbTargetImageHelp')}
          </p>
        </div>
      </fieldset>
      {m.usbTarget === 'drive' ? <DriveList /> : <ImageOptions />}
      {/* A refresh writes into the volume the drive holds: there is nothing to format. */}
      {refreshing ? null : (
        <div className="choice">
          {/* Several drives are always formatted (the engine refuses them otherwise): the box shows it and cannot change. */}
          <input type="checkbox" id="format" checked={m.format || several} disabled={several} onChange={(e) => set({ format: e.target.checked })} aria-describedby="format-help" />
          <label htmlFor="format">{t('mediaType.format')}</label>
          <p id="format-help" className="help">
            {several ? t('mediaType.formatSeveral') : m.format ? t('mediaType.formatOnHelp') : t('mediaType.formatOffHelp')}
          </p>
        </div>
      )}
    </>
  );
}

function ImageOptions() {
  const { t } = useTranslation();
  const m = useAnswers((s) => s.mediaType);
  const update = useAnswers((s) => s.update);
  const set = (patch: Partial<typeof m>): void => update('mediaType', patch);
  return (
    <>
      <PathField
        label={t('mediaType.imagePath')}
        value={m.imagePath}
        onChange={(v) => set({ imagePath: v })}
        browse={() => api.chooseSaveFile({ title: t('mediaType.imagePath'), defaultPath: m.imagePath || null, filters: [{ name: t('mediaType.imageFilter'), extensions: ['img'] }] })}
        placeholder={t('mediaType.imagePlaceholder')}
        help={t('mediaType.imageHelp')}
        describedBy="image-file-check"
      >
        <OutputCheckLine id="image-file-check" />
      </PathField>
      <div className="field">
        <label htmlFor="image-size">{t('mediaType.imageSize')}</label>
        <div className="path-row">
          <input id="image-size" type="text" inputMode="decimal" value={m.imageSize} onChange={(e) => set({ imageSize: e.target.value })} aria-describedby="image-size-help" />
          <label htmlFor="image-unit" className="visually-hidden">
            {t('mediaType.imageUnit')}
          </label>
          <select id="image-unit" value={m.imageUnit} onChange={(e) => set({ imageUnit: e.target.value as 'MiB' | 'GiB' })}>
            <option value="MiB">MiB</option>
            <option value="GiB">GiB</option>
          </select>
        </div>
        <p id="image-size-help" className="help">
          {t('mediaType.imageSizeHelp')}
        </p>
      </div>
    </>
  );
}

function DriveList() {
  const { t } = useTranslation();
  const a = useAnswers();
  const m = a.mediaType;
  const set = (patch: Partial<typeof m>): void => a.update('mediaType', patch);
  const drives = useSite((s) => s.drives);
  useDrivePolling(true);
  const listed = (drives.value ?? []).filter((d) => !d.evaluation.hidden || m.showAllDrives);
  const chosen = selectedDrive(a, drives.value);
  const need = chosen ? chosen.evaluation.needsConfirmation : 0;
  const several = m.severalDrives;
  // The ticked drives still listed, in the order ticked, each with its own confirmations.
  const ticked = m.drives.map((device) => (drives.value ?? []).find((d) => d.drive.device === device)).filter((d): d is ListedDrive => d !== undefined);
  const toggle = (device: string, on: boolean): void =>
    set({
      drives: on ? [...m.drives.filter((d) => d !== device), device] : m.drives.filter((d) => d !== device),
      // A drive ticked again is confirmed again.
      drivesConfirmations: { ...m.drivesConfirmations, [device]: 0 },
    });
  return (
    <>
      <fieldset className="drives">
        <legend>{several ? t('mediaType.drivesLegendSeveral') : t('mediaType.drivesLegend')}</legend>
        <p className="help">{several ? t('mediaType.drivesHelpSeveral') : t('mediaType.drivesHelp')}</p>
        <div className="choice">
          <input
            type="checkbox"
            id="several-drives"
            checked={several}
            // Switching starts the choice over: the drive chosen so far stays chosen, unconfirmed.
            onChange={(e) => set({ severalDrives: e.target.checked, drives: e.target.checked && m.drive ? [m.drive] : [], drivesConfirmations: {}, drive: !e.target.checked && m.drives.length > 0 ? m.drives[0] : m.drive, driveConfirmations: 0 })}
            aria-describedby="several-drives-help"
          />
          <label htmlFor="several-drives">{t('mediaType.severalDrives')}</label>
          <p id="several-drives-help" className="help">
            {t('mediaType.severalDrivesHelp')}
          </p>
        </div>
        {drives.error ? (
          <p className="error" role="alert">
            {t('mediaType.drivesFailed')} <EngineMessage message={drives.error} coded={fromEngine(drives.errorDetail)} />
          </p>
        ) : null}
        {drives.value && listed.length === 0 ? <p role="status">{t('mediaType.noDrives')}</p> : null}
        {!drives.value && !drives.error ? <p role="status">{t('mediaType.drivesLoading')}</p> : null}
        <ul className="drive-list">
          {listed.map((d) => {
            const id = `drive-${d.drive.device.replace(/[^A-Za-z0-9]/g, '_')}`;
            return (
              <li key={d.drive.device} className={d.evaluation.selectable ? '' : 'unselectable'}>
                {several ? (
                  <input
                    type="checkbox"
                    id={id}
                    name="drives"
                    disabled={!d.evaluation.selectable}
                    checked={m.drives.includes(d.drive.device)}
                    onChange={(e) => toggle(d.drive.device, e.target.checked)}
                    aria-describedby={`${id}-constraints`}
                  />
                ) : (
                  <input
                    type="radio"
                    id={id}
                    name="drive"
                    disabled={!d.evaluation.selectable}
                    checked={m.drive === d.drive.device}
                    onChange={() => set({ drive: d.drive.device, driveConfirmations: 0, refresh: false })}
                    aria-describedby={`${id}-constraints`}
                  />
                )}
                <label htmlFor={id}>
                  <strong>{d.drive.device}</strong> {d.drive.description || t('mediaType.noDescription')} — {d.drive.sizeBytes ? formatDriveBytes(d.drive.sizeBytes) : t('mediaType.noMedium')} ({d.drive.busType})
                </label>
                <ul id={`${id}-constraints`} className="constraints">
                  {d.evaluation.constraints.map((c) => (
                    <li key={c.code} className={`sev-${c.severity}`}>
                      <strong>{t(`driveConstraint.${c.code}`)}</strong>: <EngineMessage message={c.message} translated={driveConstraintText(c)} frame="engine.detail" />
                    </li>
                  ))}
                </ul>
              </li>
            );
          })}
        </ul>
        {several && drives.value
          ? m.drives
              .filter((device) => !ticked.some((d) => d.drive.device === device))
              .map((device) => (
                <p className="error" role="alert" key={device}>
                  {t('mediaType.driveGoneSeveral', { device })}{' '}
                  <button type="button" onClick={() => toggle(device, false)}>
                    {t('mediaType.untickDrive', { device })}
                  </button>
                </p>
              ))
          : null}
        {!several && m.drive && !chosen && drives.value ? (
          <p className="error" role="alert">
            {t('mediaType.driveGone', { device: m.drive })}
          </p>
        ) : null}
        <div className="choice">
          <input type="checkbox" id="show-all-drives" checked={m.showAllDrives} onChange={(e) => set({ showAllDrives: e.target.checked, driveConfirmations: 0, drivesConfirmations: {} })} aria-describedby="show-all-help" />
          <label htmlFor="show-all-drives">{t('mediaType.showAll')}</label>
          <p id="show-all-help" className="help">
            {t('mediaType.showAllHelp')}
          </p>
        </div>
      </fieldset>
      {several
        ? ticked
            .filter((d) => d.evaluation.selectable)
            .map((d) => {
              const id = d.drive.device.replace(/[^A-Za-z0-9]/g, '_');
              const given = m.drivesConfirmations[d.drive.device] ?? 0;
              return (
                <fieldset className="confirmations" key={d.drive.device} data-device={d.drive.device}>
                  <legend>{t('mediaType.confirmLegendOf', { device: d.drive.device })}</legend>
                  {Array.from({ length: d.evaluation.needsConfirmation }, (_, i) => (
                    <div className="choice" key={i}>
                      <input
                        type="checkbox"
                        id={`confirm-${id}-${i + 1}`}
                        checked={given > i}
                        disabled={i > given}
                        onChange={(e) => set({ drivesConfirmations: { ...m.drivesConfirmations, [d.drive.device]: e.target.checked ? i + 1 : i } })}
                      />
                      <label htmlFor={`confirm-${id}-${i + 1}`}>{t(i === 0 ? 'mediaType.confirmErase' : 'mediaType.confirmNotUsb', { device: d.drive.device, size: d.drive.sizeBytes ? formatDriveBytes(d.drive.sizeBytes) : t('mediaType.noMedium') })}</label>
                    </div>
                  ))}
                </fieldset>
              );
            })
        : null}
      {!several && chosen && chosen.evaluation.selectable ? <RefreshChoice device={chosen.drive.device} /> : null}
      {!several && chosen && chosen.evaluation.selectable && !m.refresh ? (
        <fieldset className="confirmations">
          <legend>{t('mediaType.confirmLegend')}</legend>
          {Array.from({ length: need }, (_, i) => (
            <div className="choice" key={i}>
              <input
                type="checkbox"
                id={`confirm-drive-${i + 1}`}
                checked={m.driveConfirmations > i}
                disabled={i > m.driveConfirmations}
                onChange={(e) => set({ driveConfirmations: e.target.checked ? i + 1 : i })}
              />
              <label htmlFor={`confirm-drive-${i + 1}`}>{t(i === 0 ? 'mediaType.confirmErase' : 'mediaType.confirmNotUsb', { device: chosen.drive.device, size: chosen.drive.sizeBytes ? formatDriveBytes(chosen.drive.sizeBytes) : t('mediaType.noMedium') })}</label>
            </div>
          ))}
        </fieldset>
      ) : null}
    </>
  );
}

/**
 * When the chosen drive holds tsmedia media: write the whole drive (the default) or refresh the media on it, writing
 * only what changed. Media for another task sequence than the one chosen cannot be refreshed: the choice is shown
 * disabled with the reason.
 */
function RefreshChoice({ device }: { device: string }) {
  const { t } = useTranslation();
  const a = useAnswers();
  const m = a.mediaType;
  const set = (patch: Partial<typeof m>): void => a.update('mediaType', patch);
  const existing = useSite((s) => s.existing);
  const sequences = useSite((s) => s.sequences.value);
  const read = useSite((s) => s.readDriveMedia);
  useEffect(() => {
    void read({ device, showAll: m.showAllDrives });
  }, [device, m.showAllDrives, read]);
  const e = existingFor(a, existing);
  const update = a.update;
  // The drive holds no tsmedia media (any more): it can only be written whole.
  const none = e !== null && !e.found;
  useEffect(() => {
    if (none && m.refresh) update('mediaType', { refresh: false });
  }, [none, m.refresh, update]);
  if (!e) {
    return existing.loading ? (
      <p role="status" className="help" data-testid="existing-media" data-found="checking">
        {t('mediaType.existingChecking', { device })}
      </p>
    ) : null;
  }
  if (!e.found) {
    return (
      <p className="help" data-testid="existing-media" data-found="false">
        {t('mediaType.existingNone', { device })}
      </p>
    );
  }
  const chosenTs = a.taskSequence.id;
  const other = chosenTs !== null && (e.taskSequenceId ?? '').toUpperCase() !== chosenTs.toUpperCase();
  const date = formatDate(e.created);
  const choose = (refresh: boolean): void => {
    set({ refresh, driveConfirmations: 0 });
    // Refreshing keeps the media's task sequence: it becomes the choice when none is made yet.
    if (refresh && chosenTs === null && e.taskSequenceId && sequences?.some((s) => s.packageId === e.taskSequenceId)) a.update('taskSequence', { id: e.taskSequenceId, acknowledged: false });
  };
  return (
    <fieldset className="refresh-choice" data-testid="existing-media" data-found="true">
      <legend>{t('mediaType.existingLegend')}</legend>
      <p className="help" id="existing-media-facts">
        {t('mediaType.existingFound', { device, label: e.label, id: e.taskSequenceId ?? '—', name: e.taskSequenceName, date })}
      </p>
      <div className="choice">
        <input type="radio" id="write-whole" name="write-how" checked={!m.refresh} onChange={() => choose(false)} />
        <label htmlFor="write-whole">{t('mediaType.writeWhole')}</label>
      </div>
      <div className="choice">
        <input
          type="radio"
          id="write-refresh"
          name="write-how"
          checked={m.refresh}
          disabled={other}
          onChange={() => choose(true)}
          aria-describedby={other ? 'existing-media-facts refresh-help refresh-unavailable' : 'existing-media-facts refresh-help'}
        />
        <label htmlFor="write-refresh">{t('mediaType.writeRefresh')}</label>
        <p id="refresh-help" className="help">
          {t('mediaType.writeRefreshHelp')}
        </p>
        {other ? (
          <p id="refresh-unavailable" className="help unavailable" data-testid="refresh-unavailable">
            <strong>{t('mediaType.refreshOtherSequence', { media: e.taskSequenceId ?? '—', chosen: chosenTs })}</strong>
          </p>
        ) : null}
      </div>
    </fieldset>
  );
}

function IsoOptions() {
  const { t } = useTranslation();
  const m = useAnswers((s) => s.mediaType);
  const update = useAnswers((s) => s.update);
  const set = (patch: Partial<typeof m>): void => update('mediaType', patch);
  return (
    <>
      <div className="field">
        <label htmlFor="disc-size">{t('mediaType.size')}</label>
        <select id="disc-size" value={m.size} onChange={(e) => set({ size: e.target.value as DiscSizeName | 'custom' })}>
          {SIZES.map((s) => (
            <option key={s} value={s}>
              {t(`discSize.${s}`, { defaultValue: s === 'custom' ? s : DISC_SIZE_LABELS[s] })}
            </option>
          ))}
        </select>
      </div>
      {m.size === 'custom' ? (
        <div className="field">
          <label htmlFor="custom-size">{t('mediaType.customSize')}</label>
          <input id="custom-size" type="text" inputMode="decimal" value={m.customSize} onChange={(e) => set({ customSize: e.target.value })} aria-describedby="custom-size-help" />
          <p id="custom-size-help" className="help">
            {t('mediaType.customSizeHelp')}
          </p>
        </div>
      ) : null}
      <PathField
        label={t('mediaType.mediaFile')}
        name="media-file"
        value={m.out}
        onChange={(v) => set({ out: v })}
        browse={() => api.chooseSaveFile({ title: t('mediaType.mediaFile'), defaultPath: m.out || null, filters: [{ name: t('mediaType.isoFilter'), extensions: ['iso'] }] })}
        placeholder={t('mediaType.mediaFilePlaceholder')}
        help={t('mediaType.mediaFileHelp')}
        describedBy="media-file-check"
      >
        <OutputCheckLine id="media-file-check" />
      </PathField>
      <p className="help">{t('mediaType.existingFileSafe')}</p>
    </>
  );
}
