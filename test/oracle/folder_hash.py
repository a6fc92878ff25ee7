#!/usr/bin/env python3
"""Independent folder hash of a content library content (SPEC.md): reads DataLib/<ContentID>/ as a tree of file INIs.

Prints the uppercase hex SHA-256 over UTF-16LE strings, folder by folder depth-first pre-order, subfolders in name order:
lower-case relative paths of the subfolders, then of the files, then the files' uppercase hashes.
"""
import configparser
import hashlib
import os
import sys


def main():
    base = sys.argv[1]
    h = hashlib.sha256()

    def put(s):
        h.update(s.encode('utf-16-le'))

    def visit(d, rel):
        names = sorted(os.listdir(d), key=lambda n: n.lower())
        dirs = [n for n in names if os.path.isdir(os.path.join(d, n))]
        dirset = {n.lower() for n in dirs}
        files = [n[:-4] for n in names if n.lower().endswith('.ini') and not os.path.isdir(os.path.join(d, n)) and n[:-4].lower() not in dirset]
        files.sort(key=lambda n: n.lower())
        join = lambda n: n if rel == '' else rel + '\\' + n
        for n in dirs:
            put(join(n).lower())
        for n in files:
            put(join(n).lower())
        for n in files:
            cp = configparser.ConfigParser()
            cp.optionxform = str
            with open(os.path.join(d, n + '.INI') if os.path.exists(os.path.join(d, n + '.INI')) else os.path.join(d, n + '.ini'), encoding='utf-8-sig') as f:
                cp.read_file(f)
            put(cp['File']['Hash'].upper())
        for n in dirs:
            visit(os.path.join(d, n), join(n))

    visit(base, '')
    print(h.hexdigest().upper())


if __name__ == '__main__':
    main()
