#!/usr/bin/env python3
"""What fills a binary's relocated read-only data, page by page.

Every page of `.data.rel.ro` that holds a load-time relocation is copied on write when the
dynamic linker starts the program: one page fault per page on every cold start, whether the
program then uses the page or not (docs/PERFORMANCE.md, "The cold start, issue 19"). This
prints, for each 4 KiB page, how many relocations it holds and what they point at: functions
(`FN`: vtables), strings (`STR`, with a few of them, which usually name the table: keywords,
Unicode property names), panic locations by crate (`LOC:crate`), or other data.

    bench/relro.py target/release/plenum
    bench/relro.py target/release/plenum --summary      # only the totals by kind

Needs `readelf` (binutils). Linux x86-64 ELF only (R_X86_64_RELATIVE).
"""

import argparse
import collections
import re
import subprocess


def readelf(*args):
    return subprocess.run(["readelf", *args], capture_output=True, text=True, check=True).stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--summary", action="store_true")
    args = parser.parse_args()
    data = open(args.binary, "rb").read()
    sections = {}
    for line in readelf("-SW", args.binary).splitlines():
        match = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if match:
            sections[match.group(1)] = (int(match.group(2), 16), int(match.group(3), 16))
    loads = []
    for line in readelf("-lW", args.binary).splitlines():
        fields = line.split()
        if fields and fields[0] == "LOAD":
            loads.append((int(fields[2], 16), int(fields[1], 16), int(fields[4], 16)))

    def offset(address):
        for start, file_offset, size in loads:
            if start <= address < start + size:
                return address - start + file_offset
        return None

    def inside(name, address):
        start, size = sections.get(name, (0, 0))
        return start <= address < start + size

    relocations = {}
    for line in readelf("-rW", args.binary).splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] == "R_X86_64_RELATIVE":
            relocations[int(fields[0], 16)] = int(fields[3], 16)
    start, size = sections[".data.rel.ro"]
    pages = collections.defaultdict(list)
    for address, target in sorted(relocations.items()):
        if not inside(".data.rel.ro", address):
            continue
        page = (address - start) // 4096
        if inside(".text", target):
            pages[page].append(("FN", None))
        elif inside(".rodata", target):
            at = offset(address)
            length = int.from_bytes(data[at + 8:at + 16], "little")
            text = data[offset(target):offset(target) + length].decode("utf-8", "replace") \
                if length < 300 else ""
            crate = re.search(
                r"(?:crates\.io-[0-9a-f]+/|/library/)([A-Za-z0-9_-]+?)(?:-\d[\w.]*)?/", text)
            if crate:
                pages[page].append(("LOC:" + crate.group(1), None))
            elif re.match(r"(core|gate|host|plugin-api|plugins)/.*\.rs$", text):
                pages[page].append(("LOC:" + text.split("/")[0], None))
            else:
                pages[page].append(("STR", text[:24]))
        else:
            pages[page].append(("OTHER", None))
    total = collections.Counter()
    for page in range((size + 4095) // 4096):
        kinds = collections.Counter(kind for kind, _ in pages[page])
        total.update(kinds)
        if not args.summary:
            samples = [text for kind, text in pages[page] if kind == "STR" and text][:5]
            print(page, len(pages[page]), dict(kinds.most_common(4)), samples)
    print(f".data.rel.ro: {size} bytes, {(size + 4095) // 4096} pages, "
          f"{sum(total.values())} relocations: {dict(total.most_common(8))}")


if __name__ == "__main__":
    main()
