#!/bin/bash
# `cmake --install` puts the znn program and the Python package where Debian's /usr/bin/python3 finds
# them (PREFIX/lib/python3/dist-packages, on sys.path for /usr/local); the installed package imports
# outside the build tree, runs a network, and carries its stubs.
# Usage: test_install.sh CMAKE BUILD_DIR SOURCE_DIR
set -u
cmake=$1 build=$2 src=$3
source "$src/tests/support/cli_checks.sh"
expect 0 "" "$cmake" --install "$build" --prefix "$work/prefix"
[ -x prefix/bin/znn ] && ok "prefix/bin/znn installed" || fail "no prefix/bin/znn"
for f in __init__.py __init__.pyi py.typed; do
    [ -f "prefix/lib/python3/dist-packages/znn/$f" ] && ok "znn/$f installed" || fail "no znn/$f"
done
cd /tmp || exit 1
expect 0 "^installed .*/prefix/lib/python3/dist-packages/znn/_znn.*: fov \(1, 8, 8\)$" env PYTHONPATH="$work/prefix/lib/python3/dist-packages" /usr/bin/python3 -c "
import numpy as np, znn, znn._znn as m
net = znn.Network('$src/tests/train/tiny_boundary.znn', threads=1)
y = net.forward(np.zeros((1, 1, 10, 10), np.float32))
assert y.shape == (2, 1, 3, 3), y.shape
print('installed', m.__file__ + ': fov', net.fov)"
cd "$work" || exit 1
finish
