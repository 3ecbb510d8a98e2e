# Type stubs of the znn module (its compiled part is znn._znn).
from typing import Any, Literal, Mapping, Optional, Sequence, Union

import numpy
import numpy.typing

__version__: str

class Error(RuntimeError): ...
class UsageError(Error, ValueError): ...
class InputError(Error, ValueError): ...
class IoError(Error, OSError): ...
class MpiError(Error, RuntimeError): ...
class NumericError(Error, ArithmeticError): ...
class InternalError(Error, RuntimeError): ...

Volume = numpy.typing.NDArray[numpy.float32]  # (channels, z, y, x), C-contiguous

class Network:
    """A network (.znn) with its parameters, run from numpy (see help(znn.Network))."""

    def __init__(
        self,
        net: str,
        weights: Optional[str] = None,
        *,
        threads: int = 0,
        conv: Literal["stored", "auto", "direct", "fft"] = "stored",
        softmax: bool = False,
        seed: int = 1,
    ) -> None: ...
    @property
    def fov(self) -> tuple[int, int, int]: ...
    @property
    def inputs(self) -> list[tuple[str, int]]: ...
    @property
    def outputs(self) -> list[tuple[str, int]]: ...
    @property
    def parameter_count(self) -> int: ...
    @property
    def threads(self) -> int: ...
    @property
    def conv_choices(self) -> dict[str, str]: ...
    def forward(self, x: Union[Volume, Mapping[str, Volume]]) -> Union[Volume, dict[str, Volume]]: ...

def train(
    config: str,
    *,
    set: Optional[Mapping[str, Any]] = None,
    threads: int = 0,
    iterations: int = 0,
    seed: Optional[str] = None,
    loader_threads: int = 1,
    comm: Any = None,
    log_level: Literal["debug", "info", "warn", "error"] = "info",
) -> dict[str, Any]: ...
def forward(
    config: str,
    *,
    set: Optional[Mapping[str, Any]] = None,
    threads: int = 0,
    overwrite: bool = False,
    comm: Any = None,
    log_level: Literal["debug", "info", "warn", "error"] = "info",
) -> list[dict[str, Any]]: ...
def version() -> str: ...
def simd() -> Literal["avx2", "avx512"]: ...
