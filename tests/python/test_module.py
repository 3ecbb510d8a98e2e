#!/usr/bin/python3
"""The Python module against the command line and against itself.

  test_module.py ZNN PYTHON_DIR SOURCE_DIR

- Network.forward equals `znn apply` on the same network file, bit for bit (direct convolutions, and the
  network file's stored plan); FFT and direct agree to float rounding.
- repr and the properties say what the network is (field of view, nodes, parameters, conv per layer).
- Bad arguments raise the matching exception with znn's message: a wrong dtype or layout TypeError (never a
  silent copy), a wrong shape znn.InputError (a ValueError), a missing file znn.InputError naming it, an unknown
  option znn.UsageError.
- The GIL is released while the engine computes: a Python thread keeps counting during forward().
- znn.train and znn.forward run a .cfg job as `znn train -c` and `znn forward -c` do: the same network file
  (dataset for dataset) and the same output volumes, bit for bit; their log lines reach Python's logging.
"""
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import logging

import h5py
import numpy as np

ZNN, PYTHON_DIR, SOURCE = (os.path.abspath(a) for a in sys.argv[1:4])
sys.path.insert(0, PYTHON_DIR)
import znn  # noqa: E402

NET = os.path.join(SOURCE, "tests", "graph", "golden", "tiny.znn")
BIG = os.path.join(SOURCE, "configs", "nets", "k5w40.znn")


def run(*args):
    p = subprocess.run([ZNN, *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError(f"znn {' '.join(args)} exited {p.returncode}:\n{p.stderr}")
    return p


class Module(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.weights = os.path.join(cls.tmp.name, "tiny.h5")
        run("init", NET, "--out", cls.weights, "--seed", "7")
        rng = np.random.default_rng(3)
        cls.x = rng.standard_normal((2, 9, 12, 11)).astype(np.float32)
        cls.input = os.path.join(cls.tmp.name, "in.h5")
        with h5py.File(cls.input, "w") as f:
            f["main"] = cls.x

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def apply(self, conv):
        out = os.path.join(self.tmp.name, f"out-{conv}.h5")
        run("apply", NET, "--weights", self.weights, "--input", self.input, "--output", out, "--conv", conv, "--threads", "2",
            "--overwrite")
        with h5py.File(out, "r") as f:
            return f["main"][...]

    def test_forward_equals_znn_apply_bit_for_bit(self):
        for conv, apply_conv in (("direct", "direct"), ("stored", "auto")):
            with self.subTest(conv=conv):
                net = znn.Network(NET, self.weights, threads=2, conv=conv)
                y = net.forward(self.x)
                expected = self.apply(apply_conv)
                self.assertEqual(y.dtype, np.float32)
                self.assertEqual(y.shape, expected.shape)
                self.assertTrue(np.array_equal(y, expected), f"max difference {np.abs(y - expected).max()}")
                self.assertTrue(np.array_equal(net.forward(self.x), y), "a second call on the kept network")

    def test_fft_and_direct_agree(self):
        y_direct = znn.Network(NET, self.weights, conv="direct").forward(self.x)
        y_fft = znn.Network(NET, self.weights, conv="fft").forward(self.x)
        np.testing.assert_allclose(y_fft, y_direct, rtol=0, atol=1e-5 * float(np.abs(y_direct).max()))

    def test_repr_and_properties(self):
        net = znn.Network(NET, self.weights, threads=1, conv="direct")
        self.assertEqual(net.inputs, [("input", 2)])
        self.assertEqual(net.threads, 1)
        fov = net.fov
        y = net.forward(self.x)
        self.assertEqual(y.shape[1:], tuple(s - f + 1 for s, f in zip(self.x.shape[1:], fov)))
        self.assertEqual(y.shape[0], net.outputs[0][1])
        self.assertGreater(net.parameter_count, 0)
        self.assertTrue(net.conv_choices and set(net.conv_choices.values()) == {"direct"}, net.conv_choices)
        text = repr(net)
        for part in ("tiny.znn", "field of view " + ",".join(map(str, fov)), "'input' (2)", "parameters", "conv: conv1=direct"):
            self.assertIn(part, text)
        self.assertIn("Network(net, weights=None", znn.Network.__doc__)
        self.assertIn(znn.simd(), ("avx2", "avx512"))

    def test_the_stubs_describe_the_module(self):
        """__init__.pyi names every public method and property of znn.Network and nothing it lacks."""
        import ast
        with open(os.path.join(PYTHON_DIR, "znn", "__init__.pyi")) as f:
            tree = ast.parse(f.read())
        (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Network"]
        stubbed = {n.name for n in cls.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")}
        public = {n for n in dir(znn.Network) if not n.startswith("_")}
        self.assertEqual(stubbed, public)
        functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        self.assertEqual(functions, {"train", "forward", "eval", "version", "simd", "read_volume", "write_volume"})
        for name in public:
            self.assertTrue(getattr(znn.Network, name).__doc__, name)

    def test_volumes_through_znns_io_round_trip_with_h5py(self):
        """read_volume / write_volume against h5py (an independent reader and writer): element type,
        dimensions and values kept; a box reads its part; writing over a file needs overwrite; TIFF too."""
        d = self.tmp.name
        rng = np.random.default_rng(5)
        for dtype, shape in ((np.uint16, (3, 10, 12)), (np.float32, (2, 3, 10, 12)), (np.uint8, (10, 12)), (np.int64, (2, 4, 5))):
            with self.subTest(dtype=dtype.__name__, shape=shape):
                a = (rng.random(shape) * 200).astype(dtype)
                path = os.path.join(d, f"v-{dtype.__name__}.h5")
                znn.write_volume(path + ":/volumes/raw", a, overwrite=True)
                with h5py.File(path, "r") as f:
                    b = f["volumes/raw"][...]
                self.assertEqual(b.dtype, a.dtype)
                self.assertTrue(np.array_equal(a, b))
                with h5py.File(path, "w") as f:
                    f["x"] = a
                c = znn.read_volume(path + ":/x")
                self.assertEqual((c.dtype, c.shape), (a.dtype, a.shape))
                self.assertTrue(np.array_equal(a, c))
        big = rng.random((3, 10, 12)).astype(np.float32)
        znn.write_volume(os.path.join(d, "big.h5"), big, overwrite=True)
        part = znn.read_volume(os.path.join(d, "big.h5"), box=(1, 2, 3, 2, 4, 5))
        self.assertTrue(np.array_equal(part, big[1:3, 2:6, 3:8]))
        with self.assertRaisesRegex(znn.InputError, "big.h5"):
            znn.write_volume(os.path.join(d, "big.h5"), big)
        znn.write_volume(os.path.join(d, "stack.tif"), big, overwrite=True)
        self.assertTrue(np.array_equal(znn.read_volume(os.path.join(d, "stack.tif")), big))
        with self.assertRaisesRegex(znn.InputError, "no.h5"):
            znn.read_volume(os.path.join(d, "no.h5"))
        with self.assertRaises(TypeError):
            znn.write_volume(os.path.join(d, "c.h5"), np.zeros((4, 4), np.complex64))

    def test_two_python_threads_share_a_network_safely(self):
        """forward, predict and repr from several threads at once on one network: each call
        waits for the one in progress (no crash, no mixed buffers); the results equal sequential calls."""
        net = znn.Network(NET, self.weights, threads=2, conv="direct")
        other = znn.Network(NET, self.weights, threads=2, conv="direct")
        inputs = [np.random.default_rng(i).standard_normal((2, 6 + i, 8 + i, 9 + i)).astype(np.float32) for i in range(4)]
        expected = [other.forward(x) for x in inputs]
        results, errors = {}, []

        def work(k):
            try:
                for r in range(5):
                    i = (k + r) % len(inputs)
                    y = net.forward(inputs[i]) if r % 2 == 0 else net.predict(inputs[i], block=(1, 2, 2))
                    results.setdefault(i, []).append(y)
                    repr(net)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        for i, ys in results.items():
            for y in ys:
                self.assertLess(np.abs(y - expected[i]).max(), 1e-5)

    def test_ctrl_c_stops_predict_after_a_block(self):
        """SIGINT during predict over a volume of many blocks raises KeyboardInterrupt within a block's
        time, not at the end of the volume."""
        script = (f"import sys, time, numpy as np; sys.path.insert(0, {PYTHON_DIR!r}); import znn\n"
                  f"net = znn.Network({NET!r}, {self.weights!r}, threads=1, conv='direct')\n"
                  "x = np.zeros((2, 100, 200, 200), np.float32)\n"
                  "net.predict(np.ascontiguousarray(x[:, :6, :12, :12]), block=(1, 4, 4))\n"
                  "print('ready', flush=True)\n"
                  "t = time.perf_counter()\n"
                  "try:\n    net.predict(x, block=(1, 4, 4))\n    print('finished', time.perf_counter() - t)\n"
                  "except KeyboardInterrupt:\n    print('interrupted after', time.perf_counter() - t, flush=True); sys.exit(3)\n")
        p = subprocess.Popen(["/usr/bin/python3", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(p.stdout.readline().strip(), "ready")
        time.sleep(1.0)
        sent = time.perf_counter()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
        waited = time.perf_counter() - sent
        self.assertEqual(p.returncode, 3, out + err)
        self.assertIn("interrupted after", out)
        self.assertLess(waited, 5.0, out)  # the whole volume takes about 25 s at these blocks

    def test_bad_arguments_raise(self):
        net = znn.Network(NET, self.weights, conv="direct")
        with self.assertRaisesRegex(TypeError, "float32"):
            net.forward(self.x.astype(np.float64))
        with self.assertRaisesRegex(TypeError, "C-contiguous"):
            net.forward(np.asfortranarray(self.x))
        with self.assertRaisesRegex(TypeError, "C-contiguous"):
            net.forward(self.x[:, :, :, ::2])
        with self.assertRaises(znn.InputError) as e:
            net.forward(self.x[0])
        self.assertIsInstance(e.exception, ValueError)
        self.assertIn("4 dimensions", str(e.exception))
        with self.assertRaisesRegex(znn.InputError, "smaller than the field of view"):
            net.forward(np.zeros((2, 1, 2, 2), np.float32))
        with self.assertRaisesRegex(znn.InputError, "3 channels; the node takes 2"):
            net.forward(np.zeros((3, 9, 12, 11), np.float32))
        with self.assertRaisesRegex(znn.InputError, "no input node 'image'"):
            net.forward({"input": self.x, "image": self.x})
        with self.assertRaises(znn.Error) as e:
            znn.Network(os.path.join(self.tmp.name, "missing.znn"))
        self.assertIn("missing.znn", str(e.exception))
        with self.assertRaises(znn.Error) as e:
            znn.Network(NET, os.path.join(self.tmp.name, "missing.h5"))
        self.assertIn("missing.h5", str(e.exception))
        with self.assertRaisesRegex(znn.UsageError, "conv: 'stored', 'auto', 'direct' or 'fft', got 'winograd'"):
            znn.Network(NET, conv="winograd")
        with self.assertRaises(znn.UsageError):
            znn.Network(NET, threads=-1)

    def test_the_gil_is_released_while_the_engine_computes(self):
        net = znn.Network(BIG, threads=1, conv="fft")
        fov = net.fov
        # An input for which one forward() takes at least 0.2 s (built and tuned before it is timed).
        for out in (8, 16, 24, 32, 48, 64):
            x = np.random.default_rng(1).standard_normal((1, fov[0] + 7, *(f + out - 1 for f in fov[1:]))).astype(np.float32)
            net.forward(x)
            start = time.perf_counter()
            net.forward(x)
            if time.perf_counter() - start >= 0.2:
                break
        count = [0]
        stop = threading.Event()

        def counter():
            while not stop.is_set():
                count[0] += 1

        t = threading.Thread(target=counter)
        t.start()
        time.sleep(0.05)
        before, start = count[0], time.perf_counter()
        time.sleep(0.2)
        idle_rate = (count[0] - before) / (time.perf_counter() - start)
        before, start = count[0], time.perf_counter()
        net.forward(x)
        busy_rate = (count[0] - before) / (time.perf_counter() - start)
        stop.set()
        t.join()
        # Held, the GIL would let the counter run only after the call returns (one switch interval, 5 ms,
        # of a 200 ms call): under 3% of its idle rate.
        self.assertGreater(busy_rate, 0.3 * idle_rate, f"counter rate {busy_rate:.0f}/s during forward(), {idle_rate:.0f}/s idle")


    def test_gradients_equal_finite_differences_of_a_numpy_reference(self):
        """Network.gradients (backward from a given output gradient g) equals the derivative of
        L(W) = sum(g * out(W)), with out computed by an independent numpy implementation of the same
        network (tests/support/numpy_net.py, as tests/graph/golden/tiny_reference.py) in double precision,
        by central differences over every parameter."""
        sys.path.insert(0, os.path.join(SOURCE, "tests", "support"))
        from numpy_net import conv, from_original_order, max_filter

        with h5py.File(self.weights, "r") as f:
            params = {"conv1": f["conv1/filters"][()].astype(np.float64), "hidden": f["hidden/biases"][()].astype(np.float64),
                      "conv2": f["conv2/filters"][()].astype(np.float64), "output": f["output/biases"][()].astype(np.float64)}
        x = np.sin(0.3 * np.arange(2 * 6 * 8 * 9)).reshape(2, 6, 8, 9)
        g = np.random.default_rng(11).standard_normal((3, 2, 3, 4))

        def loss(p):
            hidden = np.maximum(conv(x, from_original_order(p["conv1"]), (1, 1, 1)) + p["hidden"][:, None, None, None], 0.0)
            pooled = max_filter(hidden, (2, 2, 2), (1, 1, 1))
            out = 1.0 / (1.0 + np.exp(-(conv(pooled, from_original_order(p["conv2"]), (2, 2, 2)) + p["output"][:, None, None, None])))
            return float((g * out).sum())

        net = znn.Network(NET, self.weights, threads=2, conv="direct")
        grads = net.gradients(x.astype(np.float32), g.astype(np.float32))
        self.assertEqual(sorted(grads), ["conv1", "conv2", "hidden", "output"])
        h = 1e-6
        for group, values in params.items():
            numeric = np.zeros_like(values)
            for i in np.ndindex(values.shape):
                p = {k: v.copy() for k, v in params.items()}
                p[group][i] += h
                up = loss(p)
                p[group][i] -= 2 * h
                numeric[i] = (up - loss(p)) / (2 * h)
            if group.startswith("conv"):
                numeric = from_original_order(numeric)  # (out, in, z, y, x): the module's (out*in, z, y, x)
            ours = grads[group].reshape(numeric.shape)
            scale = max(1.0, np.abs(numeric).max())
            self.assertLess(np.abs(ours - numeric).max() / scale, 1e-4, group)
        # Against the loss's own gradient: a target and softmax... here the gradient of the cost
        # square_loss is 2(out - target), so gradients(target=t, cost='square_loss') equals
        # gradients(output_gradient=2(out - t)).
        t = np.random.default_rng(12).random((3, 2, 3, 4)).astype(np.float32)
        out = net.forward(x.astype(np.float32))
        by_cost = net.gradients(x.astype(np.float32), target=t, cost="square_loss")
        by_hand = net.gradients(x.astype(np.float32), 2 * (out - t))
        for group in by_cost:
            np.testing.assert_allclose(by_cost[group], by_hand[group], rtol=1e-5, atol=1e-6)
        with self.assertRaises(znn.UsageError):
            net.gradients(x.astype(np.float32))  # neither a target nor an output gradient
        with self.assertRaisesRegex(znn.InputError, "output gradient of 'output'"):
            net.gradients(x.astype(np.float32), np.zeros((3, 1, 1, 1), np.float32))


with open(os.path.join(SOURCE, "tests", "python", "tiny_job.cfg.in")) as _f:
    JOB = _f.read()


class Jobs(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.cwd = os.getcwd()
        os.chdir(self.tmp.name)
        run("synth", "--out", "data", "--shape", "6,48,48", "--seed", "2")
        net = os.path.join(SOURCE, "tests", "train", "tiny_boundary.znn")
        for prefix in ("cli", "py"):
            with open(f"{prefix}.cfg", "w") as f:
                f.write(JOB.format(net=net, prefix=prefix))

    def tearDown(self):
        os.chdir(self.cwd)
        self.tmp.cleanup()

    def test_train_and_forward_equal_the_command_line(self):
        run("train", "-c", "cli.cfg")
        run("forward", "-c", "cli.cfg")
        lines = []
        handler = logging.Handler()
        handler.emit = lambda record: lines.append(record.getMessage())
        logging.getLogger("znn").addHandler(handler)
        logging.getLogger("znn").setLevel(logging.INFO)
        try:
            r = znn.train("py.cfg")
            outcomes = znn.forward("py.cfg")
        finally:
            logging.getLogger("znn").removeHandler(handler)
        self.assertEqual(r["outcome"], "finished")
        self.assertEqual(r["iteration"], 20)
        self.assertTrue(r["network"].endswith("py/net_current.h5") or r["network"].endswith("py/net_20.h5"), r["network"])
        self.assertTrue(os.path.exists(r["curve"]))
        self.assertIsNotNone(r["validation_pixel_error"])
        p = subprocess.run(["/usr/bin/python3", os.path.join(SOURCE, "tests", "support", "compare_networks.py"), "cli/net_20.h5",
                            "py/net_20.h5", "--ignore-config"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue(any("update 10/20" in line or "10/20" in line for line in lines), lines[:20])
        self.assertEqual(len(outcomes), 1)
        self.assertTrue(outcomes[0]["finished"])
        (py_out,) = outcomes[0]["outputs"]
        cli_out = py_out.replace("py/out", "cli/out")
        with h5py.File(py_out, "r") as a, h5py.File(cli_out, "r") as b:
            self.assertTrue(np.array_equal(a["main"][...], b["main"][...]))
        # A network file written by znn train records its cost (softmax_loss, the default for boundary
        # outputs): Network softmaxes as znn forward does unless told otherwise.
        net_spec = os.path.join(SOURCE, "tests", "train", "tiny_boundary.znn")
        self.assertTrue(znn.Network(net_spec, "py/net_20.h5").softmax)
        self.assertFalse(znn.Network(net_spec, "py/net_20.h5", softmax=False).softmax)
        self.assertFalse(znn.Network(net_spec).softmax)
        # znn.eval scores the outputs as `znn eval -c` does (the same JSON lines).
        import json
        cli_scores = [json.loads(line) for line in run("eval", "-c", "cli.cfg", "--threshold", "0.3,0.6").stdout.splitlines()]
        py_scores = znn.eval("py.cfg", threshold=[0.3, 0.6])
        self.assertEqual(len(py_scores), 2)
        for a, b in zip(py_scores, cli_scores):
            for key in ("threshold", "voxels", "segments", "gt_segments", "rand_error", "voi_split", "voi_merge"):
                self.assertEqual(a[key], b[key], key)
        data = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(py_out))), "data")
        (pair,) = znn.eval(seg=py_out, gt=os.path.join(data, "test-labels.tif"), mask=os.path.join(data, "test-mask.tif"), threshold=0.6)
        self.assertEqual(pair["rand_error"], py_scores[1]["rand_error"])

    def test_predict_equals_znn_forward_bit_for_bit(self):
        """Network.predict over a whole volume (an h5py.Dataset, the same as a numpy array, an address) equals
        `znn forward` on the same network file and block size, with and without test-time augmentation."""
        net_spec = os.path.join(SOURCE, "tests", "train", "tiny_boundary.znn")
        run("init", net_spec, "--out", "w.h5", "--seed", "5")
        with open("data/raw.spec", "w") as f:
            f.write("[image1]\nfnames = test.h5:/volumes/raw\npp_types = none\n\n[sample1]\ninput = 1\n")
        job = JOB.format(net=net_spec, prefix="pred").replace("data/synth.spec", "data/raw.spec")
        job = job.replace("forward_net = pred/net_20.h5", "forward_net = w.h5").replace("forward_range = 2", "forward_range = 1")
        job = job.replace("forward_outsz = 1,8,8", "forward_outsz = 4,10,9")
        # The job's cost is softmax_loss (the default for boundary outputs): znn forward writes softmaxed outputs.
        net = znn.Network(net_spec, "w.h5", conv="direct", threads=2, softmax=True)
        for tta in (None, [0, 1, 6, 7]):
            with self.subTest(tta=tta):
                with open("pred.cfg", "w") as f:
                    f.write(job + ("" if tta is None else "forward_tta = " + ",".join(map(str, tta)) + "\n"))
                run("forward", "-c", "pred.cfg", "--overwrite")
                with h5py.File("pred/out_sample1_output.h5", "r") as f:
                    expected = f["main"][...]
                with h5py.File("data/test.h5", "r") as f:
                    from_dataset = net.predict(f["/volumes/raw"], block=(4, 10, 9), mirror=True, tta=tta)
                    array = f["/volumes/raw"][...].astype(np.float32)
                from_array = net.predict(array, block=(4, 10, 9), mirror=True, tta=tta)
                from_address = net.predict("data/test.h5:/volumes/raw", block=(4, 10, 9), mirror=True, tta=tta)
                self.assertEqual(expected.shape, (2, 6, 48, 48))
                self.assertTrue(np.array_equal(from_dataset, expected), np.abs(from_dataset - expected).max())
                self.assertTrue(np.array_equal(from_array, expected))
                self.assertTrue(np.array_equal(from_address, expected))
        # Unmirrored: the valid part, the same as one forward pass over the whole volume.
        whole = net.forward(array[None])
        self.assertTrue(np.array_equal(net.predict(array, block=whole.shape[1:]), whole))
        out = np.zeros_like(whole)
        self.assertIs(net.predict(array, block=whole.shape[1:], out=out), out)
        self.assertTrue(np.array_equal(out, whole))
        # Smaller blocks: every voxel the network's value there, up to the rounding of another window.
        self.assertLess(np.abs(net.predict(array, block=(2, 5, 7)) - whole).max(), 1e-5)
        with self.assertRaisesRegex(TypeError, "float32"):
            net.predict(array.astype(np.float64))
        with self.assertRaisesRegex(znn.InputError, "out: expected the shape"):
            net.predict(array, out=np.zeros((2, 1, 1, 1), np.float32))
        with self.assertRaisesRegex(znn.InputError, "smaller than the field of view"):
            net.predict(np.ascontiguousarray(array[:, :5, :5]))
        with self.assertRaisesRegex(znn.InputError, "missing.h5"):
            net.predict("missing.h5:/raw")
        bad = array.copy()
        bad[2, 20, 20] = np.nan
        with self.assertRaisesRegex(znn.InputError, "NaN"):
            net.predict(bad)

    def test_a_training_step_equals_one_of_znn_train(self):
        """Two train_step calls on the one patch a patch-sized volume has equal two iterations of
        `znn train` (batch 1, no augmentation, no rebalancing, SGD with momentum and weight decay):
        the saved network files hold the same parameters and velocities, bit for bit; the saved file
        loads back into the same network."""
        net_spec = os.path.join(SOURCE, "tests", "train", "tiny_boundary.znn")  # field of view 1,8,8
        rng = np.random.default_rng(4)
        raw = rng.standard_normal((1, 19, 19)).astype(np.float32)  # train_outsz 1,12,12 + 7
        labels = rng.integers(0, 3, (1, 19, 19)).astype(np.uint32)
        with h5py.File("one.h5", "w") as f:
            f["raw"], f["labels"] = raw, labels
        with open("one.spec", "w") as f:
            f.write("[image1]\nfnames = one.h5:/raw\npp_types = none\n\n[label1]\nfnames = one.h5:/labels\n"
                    "pp_types = auto\nis_auto_crop = yes\n\n[sample1]\ninput = 1\noutput = 1\n")
        with open("one.cfg", "w") as f:
            f.write(f"[parameters]\nfnet_spec = {net_spec}\nfdata_spec = one.spec\nnum_threads = 2\nout_type = boundary\n"
                    "train_net_prefix = one/net\ntrain_range = 1\ntest_range = 1\ntrain_outsz = 1,12,12\n"
                    "train_conv_mode = direct\neta = 0.05\nmomentum = 0.9\nweight_decay = 0.001\nis_bd_mirror = no\n"
                    "rebalance_mode = none\nis_data_aug = no\nbatch_size = 1\nNum_iter_per_show = 1\n"
                    "Num_iter_per_test = 100\ntest_num = 1\nNum_iter_per_save = 1\nMax_iter = 2\n")
        run("train", "-c", "one.cfg")
        # The boundary target of the output patch: channel 0 the inside of a cell (label > 0), channel 1
        # its complement; the output voxel o sees the input window [o, o + 8), centred on o + 4.
        inside = (labels[:, 4:16, 4:16] > 0).astype(np.float32)
        target = np.stack([inside, 1 - inside])
        net = znn.Network(net_spec, "one/net_init.h5", conv="direct", threads=2)
        for step in (1, 2):
            r = net.train_step(raw, target, cost="softmax_loss", eta=0.05, momentum=0.9, weight_decay=0.001)
            self.assertEqual(r["step"], step)
            self.assertEqual(r["voxels"], 2 * 12 * 12)
        net.save("py.h5")
        with h5py.File("one/net_2.h5", "r") as a, h5py.File("py.h5", "r") as b:
            compared = 0
            for group in ("conv1", "conv2", "conv3", "nconv1", "nconv2", "output"):
                for name in ("filters", "biases", "momentum_vol"):
                    if name in a[group]:
                        self.assertTrue(np.array_equal(a[group][name][()], b[group][name][()]), f"{group}/{name}")
                        compared += 1
            self.assertEqual(compared, 12)
            self.assertEqual(str(b.attrs["znn_iteration"]), "2")
        again = znn.Network(net_spec, "py.h5", conv="direct", threads=2)
        x = rng.standard_normal((1, 4, 30, 30)).astype(np.float32)
        self.assertTrue(np.array_equal(again.forward(x), net.forward(x)))
        for group, values in again.parameters.items():
            self.assertTrue(np.array_equal(values, net.parameters[group]), group)
        with self.assertRaisesRegex(znn.InputError, "target of 'output'"):
            net.train_step(raw, np.ascontiguousarray(target[:, :, :5]))
        with self.assertRaises(znn.UsageError):
            net.train_step(raw, target, cost="hinge")

    def test_ctrl_c_stops_training_at_a_checkpoint_and_raises_keyboard_interrupt(self):
        script = (f"import sys; sys.path.insert(0, {PYTHON_DIR!r}); import znn\n"
                  "try:\n    znn.train('py.cfg', set={'Max_iter': 100000, 'Num_iter_per_save': 50000})\n"
                  "except KeyboardInterrupt:\n    print('interrupted'); sys.exit(3)\n")
        p = subprocess.Popen(["/usr/bin/python3", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while not os.path.exists("py/net_init.h5") and time.time() < deadline and p.poll() is None:
            time.sleep(0.1)
        time.sleep(1.0)  # some iterations into the run
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 3, out + err)
        self.assertIn("interrupted", out)
        with h5py.File("py/net_current.h5", "r") as f:  # the checkpoint of the stop
            state = f["/processing/znn/train/znn_state"]
            self.assertTrue(len(state) > 0)

    def test_bad_job_arguments_raise(self):
        with self.assertRaisesRegex(znn.InputError, "Max_iter: expected an integer, got 'many'"):
            znn.train("py.cfg", set={"Max_iter": "many"})
        with open("bad.cfg", "w") as f:
            f.write(JOB.format(net="tiny.znn", prefix="bad").replace("eta = 0.05", "eta = fast"))
        with self.assertRaisesRegex(znn.InputError, "bad.cfg:[0-9]+"):
            znn.train("bad.cfg")
        with self.assertRaisesRegex(znn.Error, "missing.cfg"):
            znn.train("missing.cfg")
        with self.assertRaisesRegex(TypeError, "mpi4py"):
            znn.train("py.cfg", comm=42)
        with self.assertRaises(znn.UsageError):
            znn.train("py.cfg", log_level="loud")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
