#!/usr/bin/env python3
"""An independent reading of task sequence exports and sequence XML, for tests of tsmedia's own parser.

Uses only Python's zipfile and ElementTree (nothing tsmedia uses). For a .zip export or a bare .xml sequence it prints
JSON: one object per task sequence with its package ID, boot image, step counts by type, the names of the steps that
are disabled (themselves or through a disabled group), the package IDs the task sequence references, and its enabled
steps in run order with their type and runIn (what a reader of its first steps sees).
"""
import json
import re
import sys
import zipfile
import xml.etree.ElementTree as ET

PKG_RE = re.compile(r'^[A-Za-z0-9]{3}[0-9A-Fa-f]{5}$')
CONTENT_VARS = ['ImagePackageID', 'OSDApplyDriverDriverPackageID', '_SMSClientPackageID', '_SMSClientPreProductionPackageID',
                '_OSDMigrateUsmtPackageID', '_OSDMigrateUsmtRestorePackageID', 'PackageID', 'OSDRunPowerShellScriptPackageID',
                'OSDUpgradeInstallPackageID', 'OSDSubTasksequencePackageID']
LIST_VARS = ['OSDDownloadDownloadPackages']


def cim_props(inst):
    out = {}
    for p in inst:
        if p.tag == 'PROPERTY':
            v = p.find('VALUE')
            out[p.get('NAME')] = (v.text or '') if v is not None else None
    return out


def analyse_sequence(seq_text, package_id, boot_image, extra_refs, app_refs):
    root = ET.fromstring(seq_text)
    counts = {}
    disabled = []
    steps = []
    enabled = []

    def walk(el, parent_disabled):
        for c in el:
            if c.tag not in ('group', 'step', 'subtasksequence'):
                continue
            dis = parent_disabled or (c.get('disable', '').strip().lower() == 'true')
            if c.tag == 'group':
                walk(c, dis)
            else:
                t = c.get('type')
                key = 'null' if t is None else t
                counts[key] = counts.get(key, 0) + 1
                steps.append(c)
                if dis:
                    disabled.append(c.get('name', ''))
                else:
                    enabled.append({'name': c.get('name', ''), 'type': t, 'runIn': c.get('runIn')})

    walk(root, False)
    refs = set()
    rl = root.find('referenceList')
    if rl is not None:
        for r in rl.findall('reference'):
            p = r.get('package')
            if p and p != '00000000':
                refs.add(p.upper())
            a = r.get('application')
            if a and a.lower() in app_refs:
                refs.add(app_refs[a.lower()])
    if boot_image:
        refs.add(boot_image.upper())
    for r in extra_refs:
        if r.upper() != (package_id or '').upper():
            refs.add(r.upper())
    for s in steps:
        dvl = s.find('defaultVarList')
        vars_ = {}
        if dvl is not None:
            for v in dvl.findall('variable'):
                vars_[v.get('name', '').lower()] = v.text or ''
        for name in CONTENT_VARS:
            val = vars_.get(name.lower(), '').strip()
            if PKG_RE.match(val) and val != '00000000':
                refs.add(val.upper())
        for name in LIST_VARS:
            for part in re.split(r'[,;]', vars_.get(name.lower(), '')):
                part = part.strip()
                if PKG_RE.match(part):
                    refs.add(part.upper())
        if (s.get('type') or '').endswith('ApplyOperatingSystemAction'):
            act = s.find('action')
            m = re.search(r'/image:([A-Za-z0-9]{8})', (act.text or '') if act is not None else '', re.I)
            if m:
                refs.add(m.group(1).upper())
        if (s.get('type') or '').endswith('InstallApplicationAction'):
            for model in vars_.get('applicationname', '').split(','):
                if model.strip().lower() in app_refs:
                    refs.add(app_refs[model.strip().lower()])
    return {
        'packageId': package_id,
        'bootImageId': boot_image or None,
        'stepCounts': counts,
        'disabledSteps': disabled,
        'references': sorted(refs),
        'enabledSteps': enabled,
    }


def read_zip(path):
    out = []
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        for n in names:
            m = re.match(r'^SMS_TaskSequencePackage/([^/]+)/object\.xml$', n)
            if not m:
                continue
            inst = ET.fromstring(z.read(n))
            props = cim_props(inst)
            d = n.rsplit('/', 1)[0]
            extra = []
            ri = d + '/ReferencesInfo.xml'
            if ri in names:
                for s in ET.fromstring(z.read(ri)).findall('string'):
                    p = cim_props(ET.fromstring(s.text))
                    if p.get('ReferencePackageID'):
                        extra.append(p['ReferencePackageID'])
            apps = {}
            ai = d + '/AppReferencesInfo.xml'
            if ai in names:
                for s in ET.fromstring(z.read(ai)).findall('string'):
                    p = cim_props(ET.fromstring(s.text))
                    if p.get('RefAppModelName') and p.get('RefAppPackageID'):
                        apps[p['RefAppModelName'].lower()] = p['RefAppPackageID'].upper()
            out.append(analyse_sequence(props['Sequence'], props.get('PackageID'), props.get('BootImageID') or None, extra, apps))
    return out


def main():
    path = sys.argv[1]
    if path.lower().endswith('.zip'):
        res = read_zip(path)
    else:
        with open(path, 'rb') as f:
            res = [analyse_sequence(f.read(), None, None, [], {})]
    json.dump(res, sys.stdout)


if __name__ == '__main__':
    main()
