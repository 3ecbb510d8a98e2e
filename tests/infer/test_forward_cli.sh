#!/bin/bash
# `znn forward` (and `znn apply`) end to end, through the command line, on `znn synth` data and the
# tiny test nets: tiled output equals one block over the volume, 1 and 2 ranks give the same bits,
# kill -9 at several moments then the same command gives the same bits (also finishing on 2 ranks),
# a finished job is not redone, the file layout and provenance as h5py reads them, uint8 output,
# affinity nets, and bad input (exit 2, nothing written).
# usage: test_forward_cli.sh ZNN MPIEXEC SOURCE_DIR [SCALE]
# SCALE (default 1) divides the size of the long runs, for sanitizer builds.
set -u
znn=$1; mpiexec=$2; src=$3; scale=${4:-1}
py=/usr/bin/python3
EXPECT_TIMEOUT=600
source "$src/tests/support/cli_checks.sh"
# same A B [--atol X]: the /main datasets of two files (bit for bit without --atol)
same() {
    local out
    if out=$("$py" "$src/tests/support/compare_volumes.py" "$@"); then ok "$1 = $2 ${3:-} ${4:-} $out"; else fail "$1 != $2: $out"; fi
}
mpi=("$mpiexec" -n 2 --oversubscribe --bind-to none)

"$znn" synth --out data --shape 6,64,64 --seed 3 >/dev/null 2>&1 || fail "znn synth"
"$znn" synth --out big --shape $((16 / scale)),128,128 --seed 4 >/dev/null 2>&1 || fail "znn synth (big)"
cp "$src/tests/train/tiny_boundary.znn" "$src/tests/train/tiny_affinity.znn" .
"$znn" init tiny_boundary.znn --out boundary.h5 --seed 1 >/dev/null 2>&1 || fail "znn init"
"$znn" init tiny_boundary.znn --out boundary2.h5 --seed 2 >/dev/null 2>&1 || fail "znn init"
"$znn" init tiny_affinity.znn --out affinity.h5 --seed 1 >/dev/null 2>&1 || fail "znn init"
cat >job.cfg <<'EOF'
[parameters]
fnet_spec = tiny_boundary.znn
fdata_spec = data/synth.spec
num_threads = 2
out_type = boundary
forward_net = boundary.h5
forward_range = 1-2
forward_outsz = 1,8,8
forward_conv_mode = fft
is_bd_mirror = yes
output_prefix = ref/out
EOF

# ---- one rank: the layout h5py sees, provenance, softmax ----------------------------------------
expect 0 "sample 2: 384 of 384 blocks computed" "$znn" forward -c job.cfg
"$py" - <<'EOF' && ok "h5py: /main (2,6,64,64) float32, chunks divide the block, gzip, provenance, softmax" || fail "output layout"
import h5py, numpy as np
f = h5py.File("ref/out_sample1_output.h5", "r")
m = f["main"]
assert m.shape == (2, 6, 64, 64), m.shape
assert m.dtype == np.float32
assert m.compression == "gzip", m.compression
c = m.chunks
assert c[0] == 1 and 8 % c[2] == 0 and 8 % c[3] == 0, c
for key in ["znn_network", "znn_network_hash", "znn_config", "znn_version", "znn_forward_identity", "znn_conv"]:
    assert key in m.attrs and key in f.attrs, key
assert "forward_outsz = 1,8,8" in m.attrs["znn_config"]
assert m.attrs["znn_network"].endswith("boundary.h5")
v = m[...]
assert np.all(np.isfinite(v))
assert np.allclose(v.sum(axis=0), 1, atol=1e-5), "softmax: channels sum to 1"
assert np.all(v >= 0) and v.std() > 1e-4
assert set(f.keys()) == {"main"}, list(f.keys())
EOF
[ -z "$(ls ref | grep -v '_output.h5$')" ] && ok "no store or temporary file left" || fail "left in ref/: $(ls ref)"

# ---- tiled output equals one block over the volume ----------------------------------------------
# Without mirroring the output is the input minus the field of view plus 1: znn apply computes it in
# one block, forward in blocks of 1,8,8 and 1,16,16 (edge blocks aligned to the far edge).
expect 0 "" "$znn" apply tiny_boundary.znn --weights boundary.h5 --input data/train.h5:/volumes/raw --output whole.h5 \
    --preprocess standard2D --softmax --conv fft
expect 0 "computed" "$znn" forward -c job.cfg -r 1 --set is_bd_mirror=no --set output_prefix=nomirror/out
expect 0 "computed" "$znn" forward -c job.cfg -r 1 --set is_bd_mirror=no --set output_prefix=nomirror16/out --set forward_outsz=1,16,16
same whole.h5 nomirror/out_sample1_output.h5 --atol 1e-5
same whole.h5 nomirror16/out_sample1_output.h5 --atol 1e-5
# 3D blocks and a direct-convolution plan: the same values.
expect 0 "computed" "$znn" forward -c job.cfg -r 1 --set is_bd_mirror=no --set output_prefix=nomirror3d/out --set forward_outsz=2,12,12 \
    --set forward_conv_mode=direct
same whole.h5 nomirror3d/out_sample1_output.h5 --atol 1e-5

# ---- two ranks: the same bits --------------------------------------------------------------------
# The FFT tiles are timed, so separate runs may choose differently: the runs compared share the plan
# of the first (conv_plan = its output), as a resumed run shares its store's.
expect 0 "computed" "$znn" forward -c job.cfg --threads 1 --set output_prefix=r1/out
plan=(--set conv_plan=r1/out_sample1_output.h5)
expect 0 "convolution plan of .*r1/out_sample1_output.h5" "${mpi[@]}" "$znn" forward -c job.cfg --threads 1 --set output_prefix=r2/out "${plan[@]}"
# Every rank's host, CPU mask and threads, printed once by rank 0, then the layout.
out=$("${mpi[@]}" "$znn" forward -c job.cfg --threads 1 --set output_prefix=r2/out "${plan[@]}" 2>&1)
for r in 0 1; do
    [ "$(grep -Ec "rank $r: host [^,]+, CPUs [0-9,-]+, 1 thread\(s\) \(--threads\)$" <<<"$out")" -eq 1 ] && ok "rank $r reported once" \
        || { fail "rank $r's report"; echo "$out" | head -8 | sed 's/^/    /'; }
done
grep -Eq "layout: 2 rank\(s\) x 1 thread\(s\), MPI thread level [a-z]+$" <<<"$out" && ok "layout line" || fail "layout line"
out=$(OMP_NUM_THREADS=1 "$znn" forward -c job.cfg --set num_threads=0 --set output_prefix=r2/out "${plan[@]}" 2>&1)
grep -Eq "rank 0: host [^,]+, CPUs [0-9,-]+, 1 thread\(s\) \(OMP_NUM_THREADS\)$" <<<"$out" && grep -q "layout: 1 rank(s) x 1 thread(s), no MPI" <<<"$out" \
    && ok "OMP_NUM_THREADS sets the threads" || { fail "OMP_NUM_THREADS"; echo "$out" | head -5 | sed 's/^/    /'; }
expect 0 "sample 2: 384 of 384 blocks computed" "$znn" forward -c job.cfg --threads 1 --set output_prefix=r1b/out "${plan[@]}"
same r1/out_sample1_output.h5 r1b/out_sample1_output.h5
same r1/out_sample1_output.h5 r2/out_sample1_output.h5
same r1/out_sample2_output.h5 r2/out_sample2_output.h5

# ---- a finished job is not redone; --overwrite redoes it ------------------------------------------
before=$(stat -c %Y.%s ref/out_sample1_output.h5)
expect 0 "sample 1: finished before" "$znn" forward -c job.cfg
[ "$(stat -c %Y.%s ref/out_sample1_output.h5)" = "$before" ] && ok "finished output untouched" || fail "finished output rewritten"
expect 0 "sample 1: 384 of 384 blocks computed" "$znn" forward -c job.cfg -r 1 --overwrite --threads 1 --set output_prefix=r2/out "${plan[@]}"
same r1/out_sample1_output.h5 r2/out_sample1_output.h5

# ---- kill -9 at several moments, then the same command: the same bits ----------------------------
long=(-c job.cfg -r 1 --threads 1 --set fdata_spec=big/synth.spec)
big_blocks=$(((16 / scale) * 16 * 16))  # big/'s output in blocks of 1,8,8: (16/scale) x 128 x 128 voxels
expect 0 "computed" "$znn" forward "${long[@]}" --set output_prefix=long/out
long+=(--set conv_plan=long/out_sample1_output.h5)
wait_for() { for _ in $(seq 2000); do [ -e "$1" ] && return 0; sleep 0.01; done; return 1; }
kills=0
for delay in 0.0 0.15 0.4 0.8 1.5; do
    "$znn" forward "${long[@]}" --set output_prefix=kill/out >kill.log 2>&1 &
    pid=$!
    wait_for kill/out_sample1_output.h5.partial; sleep $delay; kill -9 $pid 2>/dev/null && kills=$((kills + 1)); wait $pid 2>/dev/null
    if [ -e kill/out_sample1_output.h5.partial ]; then
        "$py" -c "import h5py; f = h5py.File('kill/out_sample1_output.h5.partial', 'r'); f['main'][0, 0]; f['znn_forward_blocks'][...]" \
            || fail "the store is unreadable after kill -9 (delay $delay)"
    fi
done
[ "$kills" -ge 3 ] && ok "$kills runs killed mid-run" || fail "only $kills runs were still running when killed"
expect 0 "finished before|computed" "$znn" forward "${long[@]}" --set output_prefix=kill/out
same long/out_sample1_output.h5 kill/out_sample1_output.h5
# interrupted on one rank (once it has finished a few blocks), finished on two
finished_blocks() { "$py" -c "import h5py, numpy as np; print(np.count_nonzero(h5py.File('$1', 'r')['znn_forward_blocks'][...]))" 2>/dev/null || echo 0; }
"$znn" forward "${long[@]}" --set output_prefix=kill2/out >kill2.log 2>&1 &
pid=$!
wait_for kill2/out_sample1_output.h5.partial
for _ in $(seq 600); do [ "$(finished_blocks kill2/out_sample1_output.h5.partial)" -ge 5 ] && break; sleep 0.1; done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
expect 0 "finished before; .* to compute on 2 rank" "${mpi[@]}" "$znn" forward "${long[@]}" --set output_prefix=kill2/out
same long/out_sample1_output.h5 kill2/out_sample1_output.h5

# ---- SIGUSR1 / SIGTERM: the blocks in flight are stored, exit 75, the same command finishes ---------
for sig in USR1 TERM; do
    "$znn" forward "${long[@]}" --set output_prefix=sig$sig/out >sig$sig.log 2>&1 &
    pid=$!
    wait_for sig$sig/out_sample1_output.h5.partial
    for _ in $(seq 600); do [ "$(finished_blocks sig$sig/out_sample1_output.h5.partial)" -ge 3 ] && break; sleep 0.05; done
    kill -$sig $pid
    wait $pid
    rc=$?
    [ "$rc" -eq 75 ] && grep -q "stopped on request (signal" sig$sig.log && ok "SIG$sig: exit 75, stopped" ||
        fail "SIG$sig: exit $rc, expected 75 with 'stopped on request' ($(tail -n 2 sig$sig.log))"
    [ -e sig$sig/out_sample1_output.h5 ] && fail "SIG$sig: an output file was written for an unfinished sample"
    left=$(finished_blocks sig$sig/out_sample1_output.h5.partial)
    [ "$left" -ge 3 ] && [ "$left" -lt "$big_blocks" ] && ok "SIG$sig: the store holds $left of $big_blocks blocks" || fail "SIG$sig: the store holds $left blocks"
    expect 0 "finished before" "$znn" forward "${long[@]}" --set output_prefix=sig$sig/out
    same long/out_sample1_output.h5 sig$sig/out_sample1_output.h5
done

# ---- shards: disjoint parts into one store, then a run without --shard writes the output ----------
# shard k of 3 holds q (+1 for the first r = B mod 3 shards) of the B blocks, in grid order
q=$((big_blocks / 3)) r=$((big_blocks % 3))
shard0=$((q + (r > 0 ? 1 : 0))) shard2=$((q + (r > 2 ? 1 : 0)))
expect 0 "shard 0/3: blocks 0-$((shard0 - 1)) of $big_blocks blocks.*$shard0 to compute" "$znn" forward "${long[@]}" --set output_prefix=shard/out --shard 0/3
[ -e shard/out_sample1_output.h5 ] && fail "a shard wrote the output file" || ok "a shard leaves the output file to the final run"
expect 0 "the store holds $((shard0 + shard2)) of $big_blocks blocks" "${mpi[@]}" "$znn" forward "${long[@]}" --set output_prefix=shard/out --shard 2/3
expect 0 "every shard is done" "$znn" forward "${long[@]}" --set output_prefix=shard/out --shard 1/3
expect 0 "$big_blocks finished before; 0 to compute" "$znn" forward "${long[@]}" --set output_prefix=shard/out
same long/out_sample1_output.h5 shard/out_sample1_output.h5
expect 0 "finished before" "$znn" forward "${long[@]}" --set output_prefix=shard/out --shard 1/3
for bad in 3/3 -1/3 1 x/2 1/0; do
    expect 2 "is not a shard" "$znn" forward "${long[@]}" --set output_prefix=shardbad/out --shard "$bad"
done
expect 2 "cannot be combined with --shard" "$znn" forward "${long[@]}" --set output_prefix=shardbad/out --shard 0/2 --overwrite
[ -e shardbad ] && fail "a refused shard left files" || ok "refused shards wrote nothing"

# ---- voxel size and offset carried over (CREMI's resolution and offset, in nm) --------------------
"$py" -c "
import h5py
raw = h5py.File('data/train.h5', 'r')['volumes/raw'][...]
d = h5py.File('res.h5', 'w').create_dataset('volumes/raw', data=raw)
d.attrs['resolution'] = [40.0, 4.0, 4.0]; d.attrs['offset'] = [80.0, 100.0, 200.0]"
printf '[image1]\nfnames = res.h5:/volumes/raw\npp_types = standard2D\n[sample1]\ninput = 1\n' >res.spec
expect 0 "computed" "$znn" forward -c job.cfg -r 1 --set fdata_spec=res.spec --set output_prefix=res/out --set is_bd_mirror=no
"$py" - <<'EOF' && ok "resolution, offset (+ half the field of view) and znn_voxel_offset on /main" || fail "geometry attributes"
import h5py, numpy as np
m = h5py.File("res/out_sample1_output.h5", "r")["main"]
assert np.array_equal(m.attrs["resolution"], [40, 4, 4]), m.attrs["resolution"]
# (field of view 1,8,8 - 1) // 2 voxels into the input
assert np.array_equal(m.attrs["znn_voxel_offset"], [0, 3, 3]), m.attrs["znn_voxel_offset"]
assert np.array_equal(m.attrs["offset"], [80, 112, 212]), m.attrs["offset"]
EOF

# ---- uncompressed output: the store renamed into place, the same values ---------------------------
expect 0 "computed" "$znn" forward -c job.cfg -r 1 --threads 1 --set forward_gzip=0 --set output_prefix=raw/out "${plan[@]}"
same r1/out_sample1_output.h5 raw/out_sample1_output.h5
"$py" - <<'EOF' && ok "forward_gzip = 0: uncompressed, one chunk per block, provenance, no store left" || fail "forward_gzip = 0"
import h5py, os
m = h5py.File("raw/out_sample1_output.h5", "r")["main"]
assert m.compression is None and m.chunks == (2, 1, 8, 8), (m.compression, m.chunks)
assert "znn_forward_identity" in m.attrs and "znn_voxel_offset" in m.attrs
assert not os.path.exists("raw/out_sample1_output.h5.partial")
EOF

# ---- uint8 output, affinity nets --------------------------------------------------------------------
# (with ref's plan and threads, so the floats it rounds are ref's, bit for bit)
expect 0 "computed" "$znn" forward -c job.cfg -r 1 --set forward_dtype=uint8 --set output_prefix=u8/out --set conv_plan=ref/out_sample1_output.h5
"$py" - <<'EOF' && ok "uint8 output = round(255 * float output)" || fail "uint8 output"
import h5py, numpy as np
a = h5py.File("u8/out_sample1_output.h5", "r")["main"][...]
b = h5py.File("ref/out_sample1_output.h5", "r")["main"][...]
assert a.dtype == np.uint8
x = (np.float32(255) * np.clip(b, 0, 1)).astype(np.float64)   # the product in float32, as znn forms it
assert np.array_equal(a, np.floor(x + 0.5).astype(np.uint8))     # rounded half away from zero
EOF
expect 0 "computed" "$znn" forward -c job.cfg -r 1 --set fnet_spec=tiny_affinity.znn --set forward_net=affinity.h5 \
    --set out_type=affinity --set output_prefix=aff/out
"$py" - <<'EOF' && ok "affinity output: 3 channels of probabilities" || fail "affinity output"
import h5py, numpy as np
a = h5py.File("aff/out_sample1_output.h5", "r")["main"][...]
assert a.shape == (3, 6, 64, 64), a.shape
assert np.all((a > 0) & (a < 1)) and not np.allclose(a.sum(axis=0), 1)
EOF

# one TIFF stack per channel (Fiji), also added to a finished output
expect 0 "finished before" "$znn" forward -c job.cfg -r 1 --set forward_tiff=yes
"$py" - <<'EOF' && ok "TIFF stacks ref/out_sample1_output_{0,1}.tif = the channels of /main" || fail "TIFF stacks"
import h5py, numpy as np, tifffile
m = h5py.File("ref/out_sample1_output.h5", "r")["main"][...]
for c in range(2):
    t = tifffile.imread(f"ref/out_sample1_output_{c}.tif")
    assert t.shape == m.shape[1:] and t.dtype == np.float32, t.shape
    assert np.array_equal(t, m[c])
EOF

# ---- test-time augmentation against flipping by hand ----------------------------------------------
# Each variant v of forward_tta alone must equal: the input transformed by hand, the plain forward pass
# of that, and the output transformed back by hand — for affinities with the one-voxel shift of every
# flipped axis's channel. Unmirrored, so every output voxel has the same input in both (the shifted
# channels' first plane, which TTA takes from the input's mirror image, is left out).
aff=(-c job.cfg -r 1 --set fnet_spec=tiny_affinity.znn --set forward_net=affinity.h5 --set out_type=affinity --set is_bd_mirror=no
     --set forward_outsz=2,8,8)
for v in 1 2 4 7 8 11 15; do
    "$py" - "$v" <<'EOF' || fail "variant $v: the transformed input"
import sys, h5py, numpy as np
v = int(sys.argv[1])
x = h5py.File("data/train.h5", "r")["volumes/raw"][...]
if v & 8: x = np.swapaxes(x, 1, 2)
for bit, axis in ((1, 2), (2, 1), (4, 0)):
    if v & bit: x = np.flip(x, axis)
h5py.File(f"tta_in{v}.h5", "w")["raw"] = np.ascontiguousarray(x)
open(f"tta{v}.spec", "w").write(f"[image1]\nfnames = tta_in{v}.h5:/raw\npp_types = standard2D\n[sample1]\ninput = 1\n")
EOF
    expect 0 "computed" "$znn" forward "${aff[@]}" --set forward_tta=$v --set output_prefix=tta$v/out
    expect 0 "computed" "$znn" forward "${aff[@]}" --set fdata_spec=tta$v.spec --set output_prefix=hand$v/out
    "$py" - "$v" <<'EOF' && ok "forward_tta=$v = by hand (affinities, shifted channels)" || fail "forward_tta=$v differs from by hand"
import sys, h5py, numpy as np
v = int(sys.argv[1])
t = h5py.File(f"tta{v}/out_sample1_output.h5", "r")["main"][...]
u = h5py.File(f"hand{v}/out_sample1_output.h5", "r")["main"][...]
for bit, axis in ((1, 3), (2, 2), (4, 1)):           # un-flip, then un-transpose
    if v & bit: u = np.flip(u, axis)
if v & 8: u = np.swapaxes(u, 2, 3)[[1, 0, 2]]        # y <-> x, and the x and y channels
assert u.shape == t.shape, (u.shape, t.shape)
worst = 0.0
for c, axis in ((0, 3), (1, 2), (2, 1)):             # channels x, y, z
    axis_variant = {3: 2, 2: 3, 1: 1}[axis] if v & 8 else axis
    flipped = bool(v & {3: 1, 2: 2, 1: 4}[axis_variant])
    a, b = t[c], u[c]
    if flipped:                                       # A(r) = U(r - 1) along the channel's axis
        a = np.take(a, range(1, a.shape[axis - 1]), axis - 1)
        b = np.take(b, range(0, b.shape[axis - 1] - 1), axis - 1)
    worst = max(worst, float(np.abs(a - b).max()))
assert worst < 1e-5, worst
print(f"variant {v}: max difference {worst:.2g}")
EOF
done
# mean, min and max of two variants against the single-variant runs
for combine in mean min max; do
    expect 0 "computed" "$znn" forward "${aff[@]}" --set forward_tta=0,11 --set forward_tta_combine=$combine --set output_prefix=ttac$combine/out
done
expect 0 "computed" "$znn" forward "${aff[@]}" --set output_prefix=tta0/out
"$py" - <<'EOF' && ok "forward_tta=0,11 combined by mean, min, max = the variants combined by hand" || fail "TTA combine"
import h5py, numpy as np
a = h5py.File("tta0/out_sample1_output.h5", "r")["main"][...]
b = h5py.File("tta11/out_sample1_output.h5", "r")["main"][...]
for name, want in (("mean", (a + b) / 2), ("min", np.minimum(a, b)), ("max", np.maximum(a, b))):
    got = h5py.File(f"ttac{name}/out_sample1_output.h5", "r")["main"][...]
    assert np.abs(got - want).max() < 1e-6, (name, np.abs(got - want).max())
EOF
expect 2 "forward_tta.*square in y, x" "$znn" forward "${aff[@]}" --set forward_tta=8 --set forward_outsz=2,8,6 --set output_prefix=bad7/out

# ---- bad input: exit 2, nothing written -------------------------------------------------------------
nothing_in() { if [ -z "$(ls -A "$1" 2>/dev/null)" ]; then ok "nothing written in $1"; else fail "written in $1: $(ls -A "$1")"; fi; }
expect 2 "belongs to another network or configuration: it was made with 'network" "$znn" forward -c job.cfg --set forward_net=boundary2.h5
expect 2 "belongs to another network or configuration: it was made with 'forward_outsz 1,8,8'" "$znn" forward -c job.cfg \
    --set forward_outsz=1,16,16
expect 2 "shape|missing" "$znn" forward -c job.cfg --set forward_net=affinity.h5 --set output_prefix=bad1/out
nothing_in bad1
expect 2 "smaller than one block" "$znn" forward -c job.cfg --set forward_outsz=1,200,200 --set output_prefix=bad2/out
nothing_in bad2
touch blocker
expect 2 "output_prefix" "$znn" forward -c job.cfg --set output_prefix=blocker/out
mkdir -p ro && chmod 555 ro
if [ "$(id -u)" -ne 0 ]; then expect 2 "output_prefix" "$znn" forward -c job.cfg --set output_prefix=ro/out; fi
expect 2 "no such network file" "$znn" forward -c job.cfg -n missing.h5 --set output_prefix=bad3/out
nothing_in bad3
cat >two.spec <<'EOF'
[image1]
fnames = data/train.h5:/volumes/raw, data/train.h5:/volumes/raw
pp_types = standard2D
[sample1]
input = 1
EOF
expect 2 "has 2 channel\(s\); the input node 'input' takes 1" "$znn" forward -c job.cfg --set fdata_spec=two.spec -r 1 --set output_prefix=bad4/out
nothing_in bad4
"$py" -c "
import h5py, numpy as np
v = np.random.default_rng(0).random((6, 64, 64)).astype(np.float32); v[3, 10, 20] = np.nan
h5py.File('nan.h5', 'w')['raw'] = v"
printf '[image1]\nfnames = nan.h5:/raw\npp_types = none\n[sample1]\ninput = 1\n' >nan.spec
expect 2 "nan.h5:/raw.*NaN or infinite" "$znn" forward -c job.cfg --set fdata_spec=nan.spec -r 1 --set output_prefix=bad5/out
[ ! -e bad5/out_sample1_output.h5 ] && ok "no output for a NaN input" || fail "output written for a NaN input"
expect 2 "fnet_spec|no such|cannot" "$znn" forward -c job.cfg --set fnet_spec=missing.znn --set output_prefix=bad6/out
nothing_in bad6

finish
