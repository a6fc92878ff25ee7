#!/usr/bin/env python3
"""Independent decoder of ConfigMgr stand-alone media (SMS\\data\\Variables.dat and Policy.xml), written from the
published description of the scheme (PXEThief, hashcat mode 19850), not from tsmedia's code.

  media_decrypt.py VARIABLES_DAT POLICY_XML [PASSWORD]

Without a password it does what PXEThief does for stand-alone media: Variables.dat is decrypted with the key
derived from the fixed string {BAC6E688-DE21-4ABE-B7FB-C9F54E6DB664}, and Policy.xml with the key derived from the
value of the _SMSMediaGuid variable. With a password both files use it.

Key: SHA-1 of the secret in UTF-16LE (no NUL), then SHA-1(64 x 0x36 XOR digest) || SHA-1(64 x 0x5C XOR digest)
(Windows CryptDeriveKey), first 16 or 32 bytes. File: a 24-byte header of six little-endian 32-bit fields
(signature, 0x14, plaintext size, ciphertext size, ALG_ID, 0), AES-CBC with a zero IV, an 8-byte trailer.
The AES itself is done by `openssl enc -d -nopad`.

Prints JSON: the headers, the variables (name, value), the policy values read as //*[@name='...']/value, and
checks a real consumer would make (padding, the "<?xml ve" first block hashcat looks for, PXEThief's text path).
"""
import hashlib
import json
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

BLANK = '{BAC6E688-DE21-4ABE-B7FB-C9F54E6DB664}'
ALGS = {0x660E: 128, 0x6610: 256}


def derive(secret, bits):
    digest = hashlib.sha1(secret.encode('utf-16-le')).digest()
    ipad = bytes(b ^ 0x36 for b in digest) + b'\x36' * (64 - len(digest))
    opad = bytes(b ^ 0x5C for b in digest) + b'\x5c' * (64 - len(digest))
    return (hashlib.sha1(ipad).digest() + hashlib.sha1(opad).digest())[: bits // 8]


def openssl_decrypt(data, key, bits):
    r = subprocess.run(
        ['openssl', 'enc', '-d', '-aes-%d-cbc' % bits, '-K', key.hex(), '-iv', '00' * 16, '-nopad'],
        input=data, capture_output=True)
    if r.returncode != 0:
        raise SystemExit('openssl failed: ' + r.stderr.decode('utf-8', 'replace'))
    return r.stdout


def decrypt(path, secret):
    blob = open(path, 'rb').read()
    sig, hsize, plain_size, cipher_size, alg, reserved = struct.unpack_from('<6I', blob, 0)
    bits = ALGS[alg]
    body = blob[24:-8]  # what PXEThief reads: skip the header, drop the 8-byte trailer
    usable = len(body) // 16 * 16
    plain = openssl_decrypt(body[:usable], derive(secret, bits), bits)
    pad = plain[plain_size:cipher_size]
    text = plain[:plain_size].decode('utf-16-le')
    # PXEThief's path: decode everything, cut at the last NUL, keep printable characters only
    whole = plain.decode('utf-16-le', 'replace')
    pxethief_text = ''.join(c for c in whole[: whole.rfind('\x00')] if c.isprintable())
    checks = {
        'signature': '%08X' % sig,
        'header_size': hsize,
        'plaintext_size': plain_size,
        'ciphertext_size': cipher_size,
        'alg_id': '%04X' % alg,
        'bits': bits,
        'reserved': reserved,
        'trailer_len': len(blob) - 24 - cipher_size,
        'pkcs7_padding_ok': 1 <= len(pad) <= 16 and all(b == len(pad) for b in pad),
        'ends_with_nul': text.endswith('\x00'),
        'first_block_is_xml_decl': plain[:16] == '<?xml ve'.encode('utf-16-le'),
    }
    return text.rstrip('\x00'), pxethief_text, checks


def variables_of(text):
    root = ET.fromstring(text)
    return root.tag, root.get('Version'), [{'name': v.get('name'), 'value': v.text or ''} for v in root.iter('var')]


def policy_values(text):
    root = ET.fromstring(text)
    out = {}
    for name in ('PKG_Name', 'PKG_PackageID', 'ADV_AdvertisementID', 'TS_Sequence', 'PRG_ProgramID', 'TS_Type'):
        found = root.findall(".//*[@name='%s']/value" % name)
        if found:
            out[name] = found[0].text
    classes = [e.get('class') for e in root.iter('instance')]
    return out, classes


def main():
    variables_path, policy_path = sys.argv[1], sys.argv[2]
    password = sys.argv[3] if len(sys.argv) > 3 else None
    vtext, vpx, vchecks = decrypt(variables_path, password if password is not None else BLANK)
    tag, version, variables = variables_of(vtext)
    pxethief_vars = variables_of(vpx)[2]  # must parse too (lxml/ET on PXEThief's filtered text)
    guid = next(v['value'] for v in variables if v['name'] == '_SMSMediaGuid')
    ptext, ppx, pchecks = decrypt(policy_path, password if password is not None else guid)
    values, classes = policy_values(ptext)
    pxethief_values = policy_values(ppx)[0]
    print(json.dumps({
        'variables_header': vchecks,
        'policy_header': pchecks,
        'root': tag,
        'version': version,
        'variables': variables,
        'pxethief_variable_names': [v['name'] for v in pxethief_vars],
        'policy': values,
        'pxethief_policy': {k: pxethief_values.get(k) for k in ('PKG_Name', 'ADV_AdvertisementID')},
        'pxethief_ts_sequence_starts': (pxethief_values.get('TS_Sequence') or '')[:9],
        'instance_classes': classes,
    }, ensure_ascii=False))


if __name__ == '__main__':
    main()
