#!/bin/bash
# The original ZNN's own layout, as its CI ran it: `cd python; train.py -c ../testsuit/boundary/config.cfg
# -d single -k yes`, twice, the second run loading the first's network. Its job files name every path
# relative to the working directory (python/), not to the file: ../networks/N4.znn from
# testsuit/boundary/config.cfg, ../dataset/Piriform/stack1-image.tif from dataset/Piriform/dataset.spec.
# znn reads such files as they are (with a warning), writes where the original wrote, honours
# train_save_net, train_load_net and an empty train_seed_net, and runs forward on the same file.
# usage: test_original_layout.sh ZNN SOURCE_DIR
set -u
znn=$1; src=$2
py=/usr/bin/python3
source "$src/tests/support/cli_checks.sh"

mkdir -p networks dataset/Piriform testsuit/boundary python
cp "$src/configs/nets/N4.znn" networks/
"$znn" synth --out synth --shape 4,120,120 --seed 7 >/dev/null 2>&1 || fail "znn synth"
for i in 1 2; do
    cp synth/test-raw.tif "dataset/Piriform/stack$i-image.tif"
    cp synth/test-labels.tif "dataset/Piriform/stack$i-label.tif"
done
"$py" -c "import tifffile; tifffile.imwrite('dataset/Piriform/small-image.tif', tifffile.imread('synth/test-raw.tif')[:1, :40, :40])" ||
    fail "a small image"
cat >dataset/Piriform/dataset.spec <<'EOF'
[image3]
fnames = ../dataset/Piriform/small-image.tif
pp_types = standard2D

[sample3]
input = 3

# the original's sample spec: paths relative to the working directory
[image1]
fnames = ../dataset/Piriform/stack1-image.tif
pp_types = standard2D
is_auto_crop = yes

[image2]
fnames = ../dataset/Piriform/stack2-image.tif
pp_types = standard2D
is_auto_crop = yes

[label1]
fnames = ../dataset/Piriform/stack1-label.tif
pp_types = binary_class
is_auto_crop = yes
fmasks =

[label2]
fnames = ../dataset/Piriform/stack2-label.tif
pp_types = binary_class
is_auto_crop = yes
fmasks =

[sample1]
input = 1
output = 1

[sample2]
input = 2
output = 2
EOF
cat >testsuit/boundary/config.cfg <<'EOF'
# every key of the original's CI job, in its form (legacy names, paths from python/); smaller patches
[parameters]
fnet_spec = ../networks/N4.znn
fdata_spec = ../dataset/Piriform/dataset.spec
num_threads = 2
dtype = float32
out_type = boundary
logging = no
train_outsz = 1,40,40
cost_fn = auto
eta = 0.01
anneal_factor = 1
train_save_net = ../testsuit/boundary/net.h5
train_seed_net =
train_load_net = ../testsuit/boundary/net_current.h5
train_range = 1
test_range = 2
momentum = 0.9
weight_decay = 0
is_train_optimize = no
is_forward_optimize = no
force_fft = no
is_data_aug = yes
is_bd_mirror = yes
is_rebalance = yes
is_patch_rebalance = no
is_malis = no
malis_norm_type = num
is_visual = no
Num_iter_per_show = 1
Num_iter_per_test = 2
Num_iter_per_annealing = 100
test_num = 2
Num_iter_per_save = 3
Max_iter = 150000
forward_range = 2
forward_net = ../testsuit/boundary/net_current.h5
forward_outsz = 2,60,60
output_prefix = ../testsuit/boundary/out
EOF

cd python || exit 1
cfg=../testsuit/boundary/config.cfg
expect 0 "config.cfg: its paths are read relative to the working directory .*python.*fnet_spec = \.\./networks/N4\.znn" \
    "$znn" train -c $cfg -d single -k yes
expect 0 "dataset.spec: its paths are read relative to the working directory" "$znn" train -c $cfg -d single -k yes
[ -e ../testsuit/boundary/net_current.h5 ] && fail "-k yes wrote a network file"
expect 75 "checkpoint .*/testsuit/boundary/net_current.h5 at iteration 3" "$znn" train -c $cfg --iterations 3
[ -s ../testsuit/boundary/net_current.h5 ] || fail "no network file where the original wrote it (testsuit/boundary/net_current.h5)"
[ -e ../testsuit/testsuit ] && fail "paths were read relative to the .cfg's directory (testsuit/testsuit exists)"
[ -e ../dataset/dataset ] && fail "paths were read relative to the .spec's directory"
expect 75 "resumed from .*/testsuit/boundary/net_current.h5 at iteration 3" "$znn" train -c $cfg --iterations 2

# train_load_net naming another run's network: continued from, when this prefix has none yet.
expect 75 "continuing from train_load_net .*/testsuit/boundary/net_current.h5" \
    "$znn" train -c $cfg --set train_net_prefix=../testsuit/boundary/second --iterations 1
"$py" - ../testsuit/boundary/second_current.h5 <<'EOF' && ok "the continued run went on from iteration 5" || fail "the continued run's iteration"
import sys, h5py
trainer = str(h5py.File(sys.argv[1], "r").attrs["znn_trainer"])
print(trainer[:200])
sys.exit(0 if "iteration 6" in trainer else 1)
EOF
expect 75 "resumed from .*/testsuit/boundary/second_current.h5 at iteration 6" \
    "$znn" train -c $cfg --set train_net_prefix=../testsuit/boundary/second --iterations 1
# A train_seed_net that does not exist is an error at its line (the original skipped it silently).
sed -e 's#^train_seed_net =.*#train_seed_net = ../nowhere.h5#' -e 's#^train_save_net =.*#train_save_net = ../testsuit/boundary/third#' \
    $cfg >../testsuit/boundary/seeded.cfg
expect 2 "seeded.cfg:[0-9]+: no such seed network file: .*/nowhere.h5" "$znn" train -c ../testsuit/boundary/seeded.cfg --iterations 1
[ -e ../testsuit/boundary/third_current.h5 ] && fail "a refused run wrote a network file"

expect 0 "out_sample2_output.h5" "$znn" forward -c $cfg
[ -s ../testsuit/boundary/out_sample2_output.h5 ] || fail "forward wrote no output where the original wrote it"
# The original's forward CI job computes blocks of 1,5,5: it runs, with a warning that says what larger blocks save.
expect 0 "forward_outsz 1,5,5 is small for a field of view of 1,95,95: each block computes 392 input voxels per output voxel; blocks of 1,40,40" \
    "$znn" forward -c $cfg -r 3 --set forward_outsz=1,5,5
[ -s ../testsuit/boundary/out_sample3_output.h5 ] || fail "forward with blocks of 1,5,5 wrote no output"
finish
