#!/usr/bin/python3
"""Checks that a znn binary keeps its AVX-512 instructions inside the AVX-512 kernels.

The kernels that gain from AVX-512 are compiled for two paths (include/znn/core/simd_begin.hpp) and
chosen at run time, so the same binary runs on AVX2-only machines. That holds only if no AVX-512
instruction is reachable outside the avx512 kernels: a function compiled for the wider path but shared
with the rest of the program (an inline function or template instance the linker kept from an AVX-512
file) would crash an AVX2 machine with SIGILL. This disassembles the binary and lists every function
that uses an AVX-512 register or encoding (zmm, ymm/xmm 16-31, mask registers, embedded broadcasts)
and is not in a znn `avx512` namespace.

  tools/check_simd_confinement.py build/src/znn

Exit 0 when there is none (and at least one AVX-512 kernel was found: the check would see one),
1 otherwise.
"""
import re
import subprocess
import sys

EVEX = re.compile(r"%zmm\d|%[xy]mm(1[6-9]|2\d|3[01])\b|%k[1-7]\b|\{1to\d+\}")
FUNCTION = re.compile(r"^[0-9a-f]+ <(.*)>:$")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-C", sys.argv[1]], capture_output=True, text=True, check=True).stdout
    current, inside, outside = None, set(), set()
    for line in out.splitlines():
        m = FUNCTION.match(line)
        if m:
            current = m.group(1)
            continue
        if current and EVEX.search(line):
            (inside if "::avx512::" in current else outside).add(current)
    if not inside:
        print("no AVX-512 kernel found: is this a znn binary built with its avx512 path?")
        return 1
    if outside:
        print(f"{len(outside)} function(s) outside the avx512 kernels use AVX-512 instructions:")
        for f in sorted(outside):
            print("  " + f)
        return 1
    print(f"AVX-512 instructions only in the {len(inside)} functions of znn's avx512 kernels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
