#!/bin/bash
# Hostile and mistaken input, as a new user gives it: every case gets a clear message naming the file
# (file:line, path:/dataset) or the option, exit code 2, no crash, no hang and nothing half-written.
# Each case is one that crashed, hung, answered wrongly with exit 0 or printed an internal error
# before znn checked it (the list in the README's "Exit codes and errors").
# usage: test_bad_input.sh ZNN SOURCE_DIR
set -u
znn=$1; src=$2
py=/usr/bin/python3
source "$src/tests/support/cli_checks.sh"
export EXPECT_TIMEOUT=60

# count_lines PATTERN COUNT COMMAND...: the output has exactly COUNT lines matching PATTERN.
count_lines() {
    local pattern=$1 count=$2; shift 2
    local n
    n=$(timeout 60 "$@" 2>&1 | grep -Ec -- "$pattern")
    if [ "$n" -ne "$count" ]; then fail "'$*' printed /$pattern/ $n times, expected $count"; else ok "$* prints /$pattern/ $count time(s)"; fi
}
# unchanged FILE HASH: FILE still has the sha256 HASH.
unchanged() { [ "$(sha256sum < "$1")" = "$2" ] && ok "$1 unchanged" || fail "$1 was changed"; }

# ---- fixtures -------------------------------------------------------------------------------------
cat > small.znn <<'EOF'
nodes input
type input
size 1

edges conv1
type conv
init xavier
size 1,3,3
stride 1,1,1
input input
output out

nodes out
type transfer
function linear
size 1
EOF
cp "$src/configs/nets/N4.znn" N4.znn
"$znn" synth --out d --shape 8,64,64 > /dev/null 2>&1 || fail "znn synth"
"$znn" init small.znn --out w.h5 > /dev/null 2>&1 || fail "znn init"
"$py" - <<'EOF' || fail "fixtures"
import h5py, numpy as np
rng = np.random.default_rng(1)
with h5py.File('vols.h5', 'w') as f:
    f.create_dataset('huge', shape=(2**31, 2**31, 2**31), dtype='f4', chunks=(1, 16, 16))  # sparse: no chunk written
    f.create_group('volumes').create_dataset('raw', data=rng.random((4, 20, 20), dtype='f4'))
    f.create_dataset('v', data=rng.random((4, 20, 20), dtype='f4'))
    for name, bad in (('nan', np.nan), ('inf', np.inf), ('neginf', -np.inf)):
        a = rng.random((4, 20, 20), dtype='f4'); a[1, 2, 3] = bad; a[3, 0, 0] = bad
        f.create_dataset(name, data=a)
with h5py.File('version.h5', 'w') as f:
    f.attrs['znn_format_version'] = 'abc'
with h5py.File('hugefilter.h5', 'w') as f:  # a network file declaring a filter far larger than its .znn's
    g = f.create_group('conv1')
    g.create_dataset('filters', shape=(1, 1, 2**20, 2**20, 2**20), dtype='f4', chunks=(1, 1, 1, 16, 16))
    g.create_dataset('biases', data=np.zeros(1, 'f4'))
    f.create_group('out').create_dataset('biases', data=np.zeros(1, 'f4'))
EOF
sed 's/^size 1,3,3$/size 1,3,3\nstride 1,4611686018427387904,1/; /^stride 1,1,1$/d' small.znn > bigstride.znn
sed '0,/^size 1$/s//size 4611686018427387904/' small.znn > bignode.znn
sed 's/^size 1,3,3$/size 5000,5000,5000/' small.znn > bigkernel.znn
printf 'nodes input\ntype input\nsize 1\n\nedges c\ntype crop\noffset 4611686018427387904,0,0\ninput input\noutput out\n\nnodes out\ntype sum\nsize 1\n' > bigcrop.znn
mkfifo fifo.znn fifo.cfg fifo.spec
mkdir dir.znn

job() {  # job NAME SPEC [extra lines]: a training job on the synthetic data
    local name=$1 spec=$2; shift 2
    { printf '[parameters]\nfnet_spec = N4.znn\nfdata_spec = %s\ntrain_range = 1\ntest_range = 2\ntrain_net_prefix = out/n4\ntrain_outsz = 1,10,10\nis_bd_mirror = yes\n' "$spec"
      for line in "$@"; do printf '%s\n' "$line"; done; } > "$name"
}
sed 's#= train#= d/train#; s#= test#= d/test#' d/synth.spec > good.spec
job good.cfg good.spec
expect 0 "sample 2" "$znn" check -c good.cfg

# ---- crashes --------------------------------------------------------------------------------------
sed 's/pp_types = standard2D/pp_types = bogus/' good.spec > bogus.spec
job bogus.cfg bogus.spec
expect 2 "bogus.spec:8: unknown preprocessing 'bogus'" "$znn" check -c bogus.cfg
expect 2 "^znn: error: --dilation: every component must be at most 2147483648" \
    "$znn" bench conv --in 1,5,5,5 --out 1 --kernel 3,3,3 --dilation 1,1,4611686018427387904 --algo naive --iters 1
expect 2 "^znn: error: --dilation: every component must be at most 2147483648" \
    "$znn" bench pool --in 1,5,5,5 --window 2,2,2 --dilation 1,1,4611686018427387904 --pass bwd --iters 1
expect 2 "^znn: error: bigstride.znn:[0-9]+: stride: expected z,y,x \(three integers from 1 to 2147483648\)" "$znn" info bigstride.znn
expect 2 "^znn: error: bigstride.znn:[0-9]+: stride: " "$znn" bench net bigstride.znn --outsz 1,1,1 --iters 1
expect 2 "bignode.znn:3: size: expected a positive integer \(at most 2147483648\)" "$znn" info bignode.znn
expect 2 "bigcrop.znn:7: offset: expected z,y,x" "$znn" info bigcrop.znn
expect 2 "^znn: error: --in: every component must be at most" "$znn" bench conv --in 1,4611686018427387904,5,5 --out 1 --kernel 1,1,1

# ---- hangs ----------------------------------------------------------------------------------------
export EXPECT_TIMEOUT=20  # a hang fails here instead of blocking the suite
expect 2 "^znn: error: fifo.znn: the network file is a FIFO \(named pipe\), not a text file$" "$znn" info fifo.znn
expect 2 "^znn: error: fifo.cfg: the file is a FIFO" "$znn" check -c fifo.cfg
job fifospec.cfg fifo.spec
expect 2 "fifo.spec: the file is a FIFO" "$znn" check -c fifospec.cfg
expect 2 "^znn: error: dir.znn: the network file is a directory, not a text file$" "$znn" info dir.znn
expect 2 "^znn: error: /dev/zero: the network file is a character device, not a text file$" "$znn" info /dev/zero
expect 0 "warning: --threads: 10000 threads asked for, but this process may run on [0-9]+ cores: running [0-9]+ threads" \
    "$znn" bench conv --in 1,5,5,5 --out 1 --kernel 3,3,3 --threads 10000 --iters 1 --algo direct
expect 2 "^znn: error: --threads: -1 is not a thread count" "$znn" bench conv --in 1,5,5,5 --out 1 --kernel 3,3,3 --threads -1
expect 2 "^znn: error: --threads: -3 is not a thread count" "$znn" apply small.znn --weights w.h5 --input vols.h5:/v --output t.h5 --threads -3
expect 2 "num_threads: must be in 0..65536" "$znn" check -c good.cfg --set num_threads=1000000
# A chain of layers: shape inference must grow linearly (it grew with nodes x edges: 100 000 layers took
# minutes). Timed at 25 000 and 100 000 layers in one run, whatever the build: 4x the layers must take
# well under 10x the time (n log n takes about 5x here, a quadratic pass 16x).
"$py" - <<'EOF'
for n in (25000, 100000):
    parts = ["nodes n0\ntype input\nsize 1\n"]
    for i in range(n):
        parts.append(f"edges e{i}\ntype conv\ninit xavier\nsize 1,1,1\nstride 1,1,1\ninput n{i}\noutput n{i+1}\n")
        parts.append(f"nodes n{i+1}\ntype transfer\nfunction linear\nsize 1\n")
    open(f"chain{n}.znn", "w").write("\n".join(parts))
EOF
t0=$(date +%s%N)
EXPECT_TIMEOUT=600 expect 0 "parameters +50000$" "$znn" info chain25000.znn
t1=$(date +%s%N)
EXPECT_TIMEOUT=600 expect 0 "parameters +200000$" "$znn" info chain100000.znn
t2=$(date +%s%N)
awk -v a=$((t1 - t0)) -v b=$((t2 - t1)) 'BEGIN { r = b / a; printf "info on 25k and 100k layers: %.2f s, %.2f s (ratio %.1f)\n", a / 1e9, b / 1e9, r; exit !(r < 10) }' \
    && ok "shape inference grows linearly" || fail "shape inference grows faster than linearly"
export EXPECT_TIMEOUT=60

# ---- wrong answers with exit 0 ----------------------------------------------------------------------
expect 2 "^znn: error: vols.h5:/huge: has dimensions \(2147483648, 2147483648, 2147483648\): more than 72057594037927936 elements" \
    "$znn" convert vols.h5:/huge huge.h5
[ -e huge.h5 ] && fail "convert of a too-large dataset wrote huge.h5" || ok "nothing written"
out=$("$znn" info bigkernel.znn --outsz 1,100000,100000 2>&1)
grep -Eq "parameters +125000000001$" <<<"$out" && ! grep -Eq -- " -[0-9]" <<<"$out" && ok "info at huge sizes: no negative counts" \
    || { fail "info at huge sizes"; echo "$out" | sed 's/^/    /'; }
for v in nan inf neginf; do
    expect 2 "^znn: error: vols.h5:/$v: holds 2 NaN or infinite value\(s\), the first at channel 0, z,y,x 1,2,3$" \
        "$znn" apply small.znn --weights w.h5 --input vols.h5:/$v --output out_$v.h5
    [ -e out_$v.h5 ] && fail "apply wrote out_$v.h5" || ok "nothing written for $v"
done
# check reads float volumes through: NaN in an image, a float label and a mask, each at its fnames/fmasks line
"$py" - <<'EOF' || fail "NaN fixtures"
import h5py, numpy as np
with h5py.File('d/train.h5') as f, h5py.File('nan_train.h5', 'w') as g:
    raw = f['volumes/raw'][...].astype('f4'); raw[2, 5, 7] = np.nan
    g['raw'] = raw
    lab = f['volumes/labels/neuron_ids'][...].astype('f4'); lab[0, 0, 1] = np.inf
    g['labels'] = lab
    mask = f['volumes/labels/mask'][...].astype('f4'); mask[1, 1, 1] = np.nan
    g['mask'] = mask
EOF
printf '[image1]\nfnames = nan_train.h5:/raw\npp_types = standard2D\n\n[label1]\nfnames = nan_train.h5:/labels\nfmasks = nan_train.h5:/mask\n\n[sample1]\ninput = 1\noutput = 1\n' > nan.spec
sed -n '/\[image2\]/,$p' good.spec >> nan.spec
job nan.cfg nan.spec
out=$("$znn" check -c nan.cfg 2>&1); rc=$?
[ $rc -eq 2 ] && grep -Eq "nan.spec:2: .*nan_train.h5:/raw: holds 1 NaN or infinite value\(s\), the first at channel 0, z,y,x 2,5,7$" <<<"$out" \
    && grep -Eq "nan.spec:6: .*nan_train.h5:/labels: holds 1 NaN .* z,y,x 0,0,1$" <<<"$out" \
    && grep -Eq "nan.spec:7: .*nan_train.h5:/mask: holds 1 NaN .* z,y,x 1,1,1$" <<<"$out" \
    && ok "check finds NaN and infinity in image, label and mask" || { fail "check with NaN volumes (exit $rc)"; echo "$out" | tail -8 | sed 's/^/    /'; }

# ---- memory: refused before allocating, with the figure ---------------------------------------------
expect 2 "^znn: error: --outsz: the network small.znn would need about [0-9.]+ TiB, more than the [0-9.]+ [GT]iB this process may use" \
    "$znn" bench net small.znn --outsz 1,10000,10000000 --iters 1
expect 2 "train patches of 1,100000,100000 in batches of 64 would need at least [0-9.]+ [TP]iB, more than" \
    "$znn" check -c good.cfg --set train_outsz=1,100000,100000 --set batch_size=64
expect 2 "^znn: error: bigkernel.znn: the parameters of bigkernel.znn would need about [0-9.]+ TiB, more than" "$znn" init bigkernel.znn --out big.h5
[ -e big.h5 ] && fail "init wrote big.h5" || ok "nothing written"
expect 2 "^znn: error: --in: this benchmark's tensors would need about [0-9.]+ [TP]iB" "$znn" bench conv --in 1,100000,100000,100000 --out 1 --kernel 3,3,3
expect 2 "^znn: error: hugefilter.h5:/conv1/filters: shape \(1, 1, 1048576, 1048576, 1048576\) does not match the network's \(1, 1, 1, 3, 3\)" \
    "$znn" apply small.znn --weights hugefilter.h5 --input vols.h5:/v --output hf.h5

# ---- internal errors for user mistakes ----------------------------------------------------------------
expect 2 "^znn: error: --offset: 10,0,0 lies outside the volume vols.h5:/v of size 4,20,20" "$znn" convert vols.h5:/v o.tif --offset 10,0,0
expect 2 "^znn: error: --size: the box 1,0,0 \+ 2147483648,1,1 reaches past the volume" "$znn" convert vols.h5:/v o.tif --offset 1,0,0 --size 2147483648,1,1
expect 2 "^znn: error: --offset: every component must be at most" "$znn" convert vols.h5:/v o.tif --offset 4611686018427387904,0,0
expect 2 "^znn: error: version.h5: attribute znn_format_version: expected an integer from 0 to 1000, got 'abc'$" \
    "$znn" apply small.znn --weights version.h5 --input vols.h5:/v --output ver.h5
expect 2 "^znn: error: --dot: expected a file name" "$znn" info small.znn --dot ""
[ -e o.tif ] && fail "convert wrote o.tif" || ok "nothing written"

# ---- outputs ------------------------------------------------------------------------------------------
expect 0 "wrote g.dot" "$znn" info small.znn --dot g.dot
expect 2 "^znn: error: g.dot: file exists; choose another name, or replace it with --overwrite$" "$znn" info small.znn --dot g.dot
expect 0 "wrote g.dot" "$znn" info small.znn --dot g.dot --overwrite
expect 2 "^znn: error: --dot: /dev/null exists and is not a regular file" "$znn" info small.znn --dot /dev/null --overwrite
[ -c /dev/null ] && ok "/dev/null is still a device" || fail "/dev/null was replaced"
expect 2 "^znn: error: --dot: fifo.znn exists and is not a regular file" "$znn" info small.znn --dot fifo.znn --overwrite
[ -p fifo.znn ] && ok "the FIFO is still a FIFO" || fail "the FIFO was replaced"
hash=$(sha256sum < w.h5)
expect 2 "^znn: error: w.h5: is the network file \(--weights\); choose another output$" \
    "$znn" apply small.znn --weights w.h5 --input vols.h5:/v --output w.h5 --overwrite
unchanged w.h5 "$hash"
cp vols.h5 into.h5
expect 0 "applied" "$znn" apply small.znn --weights w.h5 --input into.h5:/v --output into.h5:/pred --overwrite
"$py" -c "
import h5py, sys
with h5py.File('into.h5') as f:
    names = sorted(f.keys())
    assert names == ['huge', 'inf', 'nan', 'neginf', 'pred', 'v', 'volumes'], names
    assert f['pred'].shape == (1, 4, 18, 18), f['pred'].shape
" && ok "--output into an existing file keeps its other datasets" || fail "--output into an existing file"
expect 0 "applied" "$znn" apply small.znn --weights w.h5 --input into.h5:/v --output into.h5:/pred --overwrite  # and replaces the dataset
expect 2 "into.h5: file exists; choose another name, or replace it with --overwrite" "$znn" apply small.znn --weights w.h5 --input into.h5:/v --output into.h5:/pred2
# A write killed before its rename leaves a temporary file; the next write of that name removes it.
touch ".fresh.h5.tmp-$(hostname | tr '/.' '__')-999999999-0" .fresh.h5.tmp-999999999-1
expect 0 "applied" "$znn" apply small.znn --weights w.h5 --input vols.h5:/v --output fresh.h5
ls -a | grep -q '^\.fresh\.h5\.tmp-' && fail "stale temporary files were left" || ok "stale temporary files removed"
touch ".fresh.h5.tmp-otherhost-1-0"
expect 0 "applied" "$znn" apply small.znn --weights w.h5 --input vols.h5:/v --output fresh.h5 --overwrite
[ -e .fresh.h5.tmp-otherhost-1-0 ] && ok "another host's temporary file is left alone" || fail "another host's temporary file was removed"

# ---- truncated and corrupt volumes: the file or dataset named, what is wrong, exit 2 ---------------
"$py" - <<'EOF' || fail "corrupt fixtures"
d = open('d/train.h5', 'rb').read()
open('trunc.h5', 'wb').write(d[:len(d) // 2])
c = bytearray(d); c[len(d) * 3 // 5:len(d) * 3 // 5 + 4000] = b'\xff' * 4000  # inside the compressed raw chunks
open('corrupt.h5', 'wb').write(c)
t = open('d/test-raw.tif', 'rb').read()
open('trunc.tif', 'wb').write(t[:len(t) - 150])
open('trunc_header.tif', 'wb').write(t[:6])
EOF
expect 2 "^znn: error: trunc.h5: cannot open the HDF5 file \(truncated or corrupt\?\) \(HDF5: truncated file" "$znn" convert trunc.h5:/volumes/raw x.h5
expect 2 "^znn: error: corrupt.h5:/volumes/raw: cannot read box .* \(corrupt file\?\)" "$znn" convert corrupt.h5:/volumes/raw x.h5
expect 2 "^znn: error: trunc.tif: cannot read the page directory after page [0-9]+" "$znn" convert trunc.tif x.h5
expect 2 "^znn: error: trunc_header.tif: " "$znn" convert trunc_header.tif x.h5
expect 2 "trunc.h5" "$znn" apply small.znn --weights trunc.h5 --input vols.h5:/v --output x.h5
[ -e x.h5 ] && fail "a failed read wrote x.h5" || ok "nothing written"

# Found by fuzz_hdf5: a dataset that stores fewer bytes than its shape needs (HDF5 1.10 reads past its
# own buffer for it). Made here by patching the dims of a compact dataset.
"$py" - <<'EOF' || fail "compact fixture"
import h5py, numpy as np, struct
with h5py.File('compact.h5', 'w') as f:
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    ds = h5py.h5d.create(f.id, b'main', h5py.h5t.NATIVE_UINT8, h5py.h5s.create_simple((3, 1553)), dcpl=dcpl)
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(3 * 1553, dtype=np.uint8).reshape(3, 1553))
d = open('compact.h5', 'rb').read()
open('compact_bad.h5', 'wb').write(d.replace(struct.pack('<Q', 1553), struct.pack('<Q', 1560)))
EOF
expect 0 "converted" "$znn" convert compact.h5 c_ok.h5
expect 2 "^znn: error: compact_bad.h5:/main: stores 4659 bytes of data, but its shape \(3, 1560\) needs 4680 \(a damaged file\?\)$" \
    "$znn" convert compact_bad.h5 c_bad.h5

# Found by fuzz_hdf5: an uncompressed chunk whose index says it is shorter than a chunk.
expect 2 "short-uncompressed-chunk.h5:/main: stores 9472 bytes in 1 uncompressed chunks of 11520 bytes \(a damaged file\?\)$" \
    "$znn" convert "$src/tests/fuzz/regressions/hdf5/short-uncompressed-chunk.h5" chunk.h5

# ---- unclear messages ---------------------------------------------------------------------------------
printf '\xef\xbb\xbf' > bom.znn; cat small.znn >> bom.znn
expect 0 "parameters +10$" "$znn" info bom.znn
printf 'nodes input\ntype in\0put\n' > nul.znn
expect 2 "^znn: error: nul.znn:2: the network file holds a NUL byte: it is not a text file" "$znn" info nul.znn
printf 'nodes in\x01put\ntype inp\xffut\nsize 1\n' > binary.znn
out=$("$znn" info binary.znn 2>&1)
grep -qF "type: unknown type 'inp\\xFFut'" <<<"$out" && grep -qF "'in\\x01put'" <<<"$out" && ! grep -qP '[\x01\xff]' <<<"$out" \
    && ok "raw bytes are shown as \\xNN" || { fail "raw bytes in messages"; echo "$out" | sed 's/^/    /'; }
job h5spec.cfg d/train.h5
count_lines "not a text file" 1 "$znn" check -c h5spec.cfg
expect 2 "d/train.h5:[0-9]+: the file holds a NUL byte: it is not a text file" "$znn" check -c h5spec.cfg
expect 2 "^znn: error: vols.h5:/volumes: is a group, not a dataset; it holds the datasets /volumes/raw$" "$znn" convert vols.h5:/volumes x.h5
sed 's#fnames = d/test-raw.tif#fnames = d/missing.tif#' good.spec > missing.spec
job missing.cfg missing.spec "forward_range = 2" "output_prefix = out/p"
expect 2 "^znn: error: /.*/missing.spec:22: /.*/d/missing.tif: no such file$" "$znn" check -c missing.cfg  # once, at the fnames line
count_lines "missing.tif: no such file" 1 "$znn" check -c missing.cfg
"$znn" convert vols.h5:/v v2.h5 > /dev/null 2>&1
expect 2 "v2.h5: file exists; choose another name, or replace it with --overwrite" "$znn" convert vols.h5:/v v2.h5
{ cat good.cfg; printf 'eta = 0.1\neta = 0.2\n[parameters]\nmomentum = 0.5\n'; } > dup.cfg
expect 0 "dup.cfg:[0-9]+: 'eta' is set again in \[parameters\] \(first at .*dup.cfg:[0-9]+\); the last value counts" "$znn" check -c dup.cfg
expect 0 "dup.cfg:[0-9]+: \[parameters\] appears again \(first at .*dup.cfg:1\)" "$znn" check -c dup.cfg
cp good.spec dupspec.spec; printf '[image1]\nis_auto_crop = yes\n' >> dupspec.spec; job dupspec.cfg dupspec.spec
expect 0 "dupspec.spec:[0-9]+: \[image1\] appears again" "$znn" check -c dupspec.cfg
echo "not a network" > garbage.h5
job fnet.cfg good.spec "forward_range = 2" "output_prefix = out/p" "forward_net = garbage.h5"
expect 2 "forward_net: .*garbage.h5 is not an HDF5 network file" "$znn" check -c fnet.cfg
expect 2 "batch_size: must be in 1..65536, got 100000000000" "$znn" check -c good.cfg --set batch_size=100000000000
job sectionx.cfg good.spec "[sampleX]" "input = 1"
expect 2 "sectionx.cfg:[0-9]+: unknown section \[sampleX\]" "$znn" check -c sectionx.cfg
expect 2 "train_range: an empty item in '1,,2'" "$znn" check -c good.cfg --set train_range=1,,2
# An input smaller than the field of view names the input volume.
"$py" -c "
import h5py, numpy as np
with h5py.File('tiny.h5', 'w') as f:
    f['raw'] = np.zeros((1, 30, 30), 'f4'); f['lab'] = np.ones((1, 30, 30), 'u4')
"
printf '[parameters]\nfnet_spec = N4.znn\nforward_range = 1\noutput_prefix = tiny/p\nforward_net = w4.h5\nforward_outsz = 1,10,10\nis_bd_mirror = no\n[image1]\nfnames = tiny.h5:/raw\n[label1]\nfnames = tiny.h5:/lab\n[sample1]\ninput = 1\noutput = 1\n' > tiny.cfg
"$znn" init N4.znn --out w4.h5 > /dev/null 2>&1
expect 2 "sample 1: its input .*tiny.h5:/raw of 1,30,30 gives an output of" "$znn" forward -c tiny.cfg
[ -e tiny ] && fail "forward made tiny/" || ok "nothing written"

finish
