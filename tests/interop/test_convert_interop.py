#!/usr/bin/python3
"""Cross-checks `znn convert` against Debian's h5py and tifffile, independent implementations of both
formats: files made by them are converted by znn, and what znn writes is read back by them. Every
array must come back identical (dtype, shape, values).

usage: /usr/bin/python3 test_convert_interop.py path/to/znn
"""
import os
import subprocess
import sys
import tempfile

try:
    import h5py
    import numpy as np
    import tifffile
except ImportError as e:  # a clear message rather than a traceback
    sys.exit(f"missing Python module ({e}); run tools/install-deps (Debian python3-h5py, python3-tifffile)")

ZNN = sys.argv[1]
DTYPES = [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.uint64, np.int64, np.float32, np.float64]
rng = np.random.default_rng(20261124)
failures = []
checks = 0


def sample(dtype, shape):
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        a = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
        a.flat[0], a.flat[-1] = info.min, info.max
        return a
    return rng.normal(0, 1000, size=shape).astype(dtype)


def znn(*args, expect=0):
    p = subprocess.run([ZNN, *args], capture_output=True, text=True)
    if p.returncode != expect:
        failures.append(f"znn {' '.join(args)}: exit {p.returncode}, expected {expect}\n{p.stderr}")
    return p


def check(label, got, want):
    global checks
    checks += 1
    if got.dtype != want.dtype or got.shape != want.shape or not np.array_equal(got, want):
        failures.append(f"{label}: got {got.dtype}{got.shape}, want {want.dtype}{want.shape}")


def czyx_pages(a):
    """The pages of a (c,z,y,x) volume in znn's TIFF order (z-major, channel-minor), as (pages,y,x)."""
    return a.transpose(1, 0, 2, 3).reshape(-1, a.shape[2], a.shape[3])


with tempfile.TemporaryDirectory() as d:
    def path(name):
        return os.path.join(d, name)

    # 1. h5py writes (chunked, gzip, nested dataset) -> znn converts -> h5py and tifffile read back.
    for dt in DTYPES:
        for shape in [(13, 17), (5, 13, 17), (2, 5, 13, 17)]:
            a = sample(dt, shape)
            for f in ("src.h5", "copy.h5", "copy.tif"):
                if os.path.exists(path(f)):
                    os.remove(path(f))
            with h5py.File(path("src.h5"), "w") as f:
                f.create_dataset("vol/raw", data=a, chunks=True, compression="gzip")
            label = f"h5py {np.dtype(dt).name}{shape}"
            znn("convert", path("src.h5") + ":/vol/raw", path("copy.h5") + ":/out/copy")
            with h5py.File(path("copy.h5"), "r") as f:
                check(label + " -> znn -> h5py", f["out/copy"][...], a)
            znn("convert", path("src.h5") + ":/vol/raw", path("copy.tif"))
            t = tifffile.imread(path("copy.tif"))
            want = czyx_pages(a).reshape(t.shape) if a.ndim == 4 else a
            check(label + " -> znn -> tifffile", t, want)

    # 2. tifffile writes (both byte orders, compressed or not, strips or tiles) -> znn -> h5py.
    for dt in DTYPES:
        for byteorder in "<>":
            for compression, tile in ((None, None), ("zlib", None), (None, (16, 16))):
                a = sample(dt, (4, 19, 37))
                tifffile.imwrite(path("t.tif"), a, byteorder=byteorder, compression=compression, tile=tile,
                                 photometric="minisblack")
                znn("convert", path("t.tif"), path("t.h5"), "--overwrite")
                with h5py.File(path("t.h5"), "r") as f:
                    check(f"tifffile {np.dtype(dt).name} {byteorder} {compression} tile={tile} -> znn -> h5py",
                          f["main"][...], a)

    # 3. ImageJ stacks and hyperstacks from tifffile (the layout Fiji writes).
    for dt in (np.uint8, np.uint16, np.float32):
        a = sample(dt, (6, 10, 12))
        tifffile.imwrite(path("ij.tif"), a, imagej=True, metadata={"axes": "ZYX"})
        znn("convert", path("ij.tif"), path("ij.h5"), "--overwrite")
        with h5py.File(path("ij.h5"), "r") as f:
            check(f"ImageJ stack {np.dtype(dt).name}", f["main"][...], a)
        tifffile.imwrite(path("ij_plain.tif"), a, imagej=True)  # no axes: tifffile says "channels"
        znn("convert", path("ij_plain.tif"), path("ij.h5"), "--overwrite")
        with h5py.File(path("ij.h5"), "r") as f:
            check(f"ImageJ stack without axes {np.dtype(dt).name}", f["main"][...], a)
        zc = sample(dt, (3, 2, 10, 12))  # ImageJ hyperstack ZCYX -> znn (c, z, y, x)
        tifffile.imwrite(path("hyper.tif"), zc, imagej=True, metadata={"axes": "ZCYX"})
        znn("convert", path("hyper.tif"), path("hyper.h5"), "--overwrite")
        with h5py.File(path("hyper.h5"), "r") as f:
            check(f"ImageJ hyperstack {np.dtype(dt).name}", f["main"][...], zc.transpose(1, 0, 2, 3))
        # ... and what znn writes, tifffile reads as an ImageJ stack with the same array.
        znn("convert", path("hyper.h5"), path("back.tif"), "--overwrite")
        with tifffile.TiffFile(path("back.tif")) as tf:
            if not tf.is_imagej:
                failures.append(f"znn's {np.dtype(dt).name} TIFF is not an ImageJ stack")
            check(f"znn hyperstack -> tifffile {np.dtype(dt).name}", tf.asarray(), zc)

    # 4. 24-bit RGB label stacks (VAST exports) become uint32 IDs.
    rgb = rng.integers(0, 256, size=(3, 6, 7, 3), dtype=np.uint8)
    tifffile.imwrite(path("rgb.tif"), rgb, photometric="rgb")
    znn("convert", path("rgb.tif"), path("rgb.h5"))
    ids = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    with h5py.File(path("rgb.h5"), "r") as f:
        check("RGB labels -> IDs", f["main"][...], ids)

    # 5. A real ImageJ stack written by another program (shipped with Debian's scikit-image).
    try:
        import skimage
        fiji = os.path.join(os.path.dirname(skimage.__file__), "data", "_blobs_3d_fiji_skeleton.tif")
    except ImportError:
        fiji = None
    if fiji and os.path.exists(fiji):
        znn("convert", fiji, path("fiji.h5"))
        with h5py.File(path("fiji.h5"), "r") as f:
            check("skimage _blobs_3d_fiji_skeleton.tif", f["main"][...], tifffile.imread(fiji))
    else:
        failures.append("scikit-image's _blobs_3d_fiji_skeleton.tif is missing; run tools/install-deps")

    # 6. Conversion of the element type and a sub-box, against numpy's arithmetic.
    a = sample(np.float32, (5, 8, 9))
    with h5py.File(path("f.h5"), "w") as f:
        f["main"] = a
    znn("convert", path("f.h5"), path("i16.tif"), "--dtype", "int16", "--offset", "1,2,3", "--size", "3,4,5")
    want = np.clip(np.round(a[1:4, 2:6, 3:8].astype(np.float64)), -32768, 32767).astype(np.int16)
    check("float32 -> int16 sub-box", tifffile.imread(path("i16.tif")), want)

    # 6b. The clamp warning: how many values fell outside the new type (numpy counts the same).
    wide = (rng.standard_normal((3, 7, 8)) * 400).astype(np.float32)
    with h5py.File(path("wide.h5"), "w") as f:
        f["main"] = wide
    p = znn("convert", path("wide.h5"), path("u8.h5"), "--dtype", "uint8")
    outside = int(((np.round(wide) < 0) | (np.round(wide) > 255)).sum())
    checks += 1
    if f"{outside} values were outside the range of uint8 and were clamped" not in p.stderr + p.stdout:
        failures.append(f"clamp warning: expected {outside} clamped values, got: {p.stderr.strip()}")
    with h5py.File(path("u8.h5"), "r") as f:
        check("float32 -> uint8 clamped", f["main"][...], np.clip(np.round(wide.astype(np.float64)), 0, 255).astype(np.uint8))

    # 6c. BigTIFF (64-bit offsets, what tifffile and Fiji write for stacks over 4 GiB), both byte orders.
    for byteorder in "<>":
        a = sample(np.uint16, (5, 21, 17))
        tifffile.imwrite(path("big.tif"), a, bigtiff=True, byteorder=byteorder, photometric="minisblack")
        with tifffile.TiffFile(path("big.tif")) as tf:
            if not tf.is_bigtiff:
                failures.append("tifffile did not write a BigTIFF")
        znn("convert", path("big.tif"), path("big.h5"), "--overwrite")
        with h5py.File(path("big.h5"), "r") as f:
            check(f"BigTIFF {byteorder} -> znn -> h5py", f["main"][...], a)

    # 7. Errors name the file and the dataset, exit with 2, and leave nothing behind.
    with h5py.File(path("two.h5"), "w") as f:
        f["raw"] = a
        f["labels"] = a.astype(np.uint32)
    p = znn("convert", path("two.h5") + ":/main", path("never.tif"), expect=2)
    if f"{path('two.h5')}:/main: no such dataset; the file has datasets /labels, /raw" not in p.stderr:
        failures.append(f"missing-dataset message: {p.stderr!r}")
    if os.path.exists(path("never.tif")) or any(n.startswith(".never") for n in os.listdir(d)):
        failures.append("a failed conversion left a file behind")

for f in failures:
    print("FAIL:", f)
print(f"{checks} arrays compared, {len(failures)} failures")
sys.exit(1 if failures else 0)
