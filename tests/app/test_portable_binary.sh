#!/bin/bash
# The default build runs on any x86-64-v3 machine and takes the AVX-512 kernels only where the CPU has
# them. Checked three ways:
#  - no AVX-512 instruction outside the avx512 kernels (tools/check_simd_confinement.py on the binary);
#  - under Debian's qemu-user emulating an AVX2-only CPU (Haswell): znn reports and runs the AVX2 kernels
#    (the FFT and max-filter tests of both paths against their oracles: the AVX-512 ones skip; a
#    convolution checked against the naive oracle through the CLI, FFT and oneDNN's direct);
#  - on this machine, ZNN_SIMD=avx2 forces the AVX2 kernels (and oneDNN's), ZNN_SIMD=avx512 is refused
#    where the CPU lacks AVX-512, and an unknown value is a usage error.
# Usage: test_portable_binary.sh ZNN FFT_TESTS CONV_TESTS SOURCE_DIR
set -u
znn=$1 fft_tests=$2 conv_tests=$3 src=$4
source "$src/tests/support/cli_checks.sh"
export EXPECT_TIMEOUT=600
unset ZNN_SIMD

expect 0 "AVX-512 instructions only in the [0-9]+ functions of znn's avx512 kernels" /usr/bin/python3 "$src/tools/check_simd_confinement.py" "$znn"

if ! command -v qemu-x86_64 > /dev/null; then
    fail "qemu-x86_64 not found: tools/install-deps installs Debian's qemu-user"
    finish; exit
fi
# An AVX2-only CPU; qemu's notes on the host features its emulation leaves out are dropped.
cat > haswell <<'SH'
#!/bin/bash
exec qemu-x86_64 -cpu Haswell "$@" 2> >(grep -v "^qemu-x86_64: warning: TCG doesn't support" >&2)
SH
chmod +x haswell
haswell=$PWD/haswell
expect 0 "^kernels: +avx2 \(8-float AVX2 kernels, the widest this CPU runs\)" "$haswell" "$znn" version
expect 0 "^oneDNN: .*avx2 kernels" "$haswell" "$znn" version
expect 2 "the avx512 kernels cannot run on this CPU \(it runs avx2\)" "$haswell" -E ZNN_SIMD=avx512 "$znn" version
expect 0 "SKIPPED +\] 3 tests" "$haswell" "$fft_tests" --gtest_brief=1
expect 0 "PASSED +\] 5 tests" "$haswell" "$fft_tests"
expect 0 "PASSED +\] 7 tests" "$haswell" "$conv_tests" --gtest_filter='*fft_avx2*:*MaxPaths*'
for algo in fft direct; do
    expect 0 '"simd":"avx2".*"check":"pass"' "$haswell" "$znn" bench conv --in 3,6,9,10 --out 4 --kernel 3,3,3 --dilation 1,2,1 \
        --batch 2 --algo $algo --iters 1 --check --plan estimate --threads 2
done
expect 0 '"simd":"avx2"' "$haswell" "$znn" bench pool --in 4,2,30,70 --window 1,2,2 --threads 2 --iters 2

# On this machine: the path can be forced down, never up.
expect 0 "^kernels: +avx2 \(8-float AVX2 kernels(; forced, this CPU runs avx512|, the widest this CPU runs)\)" env ZNN_SIMD=avx2 "$znn" version
expect 0 "^oneDNN: .*avx2 kernels" env ZNN_SIMD=avx2 "$znn" version
expect 2 "ZNN_SIMD: unknown SIMD path 'sse2' \(avx2 or avx512\)" env ZNN_SIMD=sse2 "$znn" version
if grep -qw avx512vl /proc/cpuinfo; then
    expect 0 "^kernels: +avx512 \(16-float AVX-512 kernels, the widest this CPU runs\)" "$znn" version
    expect 0 '"simd":"avx2".*"check":"pass"' env ZNN_SIMD=avx2 "$znn" bench conv --in 3,6,9,10 --out 4 --kernel 3,3,3 --algo fft \
        --iters 1 --check --plan estimate --threads 2
else
    expect 2 "the avx512 kernels cannot run on this CPU" env ZNN_SIMD=avx512 "$znn" version
fi
finish
