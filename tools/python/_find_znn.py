"""Makes `import znn` work from a checkout: the installed module, else the build tree's (build/python)."""
import os
import shutil
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

try:
    import znn  # noqa: F401  (installed: cmake --install)
except ImportError:
    sys.path.insert(0, os.path.join(os.environ.get("ZNN_BUILD", os.path.join(ROOT, "build")), "python"))
    import znn  # noqa: F401


def znn_binary():
    """The znn program: $ZNN, the build tree's, or the one on PATH."""
    for candidate in (os.environ.get("ZNN"), os.path.join(os.environ.get("ZNN_BUILD", os.path.join(ROOT, "build")), "src", "znn"),
                      shutil.which("znn")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    sys.exit("no znn program: build it (cmake --build build) or set ZNN=/path/to/znn")
