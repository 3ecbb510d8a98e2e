# Type stubs of the znn module (its compiled part is znn._znn).
import os
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
Source = Union[Volume, str, "os.PathLike[str]", Any]  # a numpy volume, a volume address, an h5py.Dataset
Cost = Literal["square_loss", "square-square", "binomial_cross_entropy", "softmax_loss"]
Optimizer = Literal["sgd", "adam"]

class Network:
    """A network (.znn) with its parameters, run from numpy (see help(znn.Network))."""

    def __init__(
        self,
        net: str,
        weights: Optional[str] = None,
        *,
        threads: int = 0,
        conv: Literal["stored", "auto", "direct", "fft"] = "stored",
        softmax: Optional[bool] = None,
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
    def softmax(self) -> bool: ...
    @property
    def conv_choices(self) -> dict[str, str]: ...
    @property
    def last_pass_seconds(self) -> float: ...
    def forward(self, x: Union[Volume, Mapping[str, Volume]]) -> Union[Volume, dict[str, Volume]]: ...
    def predict(
        self,
        volume: Union[Source, Mapping[str, Source]],
        *,
        block: Optional[Sequence[int]] = None,
        mirror: bool = False,
        tta: Optional[Sequence[int]] = None,
        combine: Literal["mean", "min", "max"] = "mean",
        affinity: bool = False,
        out: Optional[Volume] = None,
    ) -> Union[Volume, dict[str, Volume]]: ...
    def train_step(
        self,
        x: Union[Volume, Mapping[str, Volume]],
        target: Union[Volume, Mapping[str, Volume]],
        *,
        cost: Cost = "softmax_loss",
        mask: Union[None, Volume, Mapping[str, Volume]] = None,
        weight: Union[None, Volume, Mapping[str, Volume]] = None,
        eta: float = 0.01,
        optimizer: Optimizer = "sgd",
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
    ) -> dict[str, float]: ...
    def gradients(
        self,
        x: Union[Volume, Mapping[str, Volume]],
        output_gradient: Union[None, Volume, Mapping[str, Volume]] = None,
        *,
        target: Union[None, Volume, Mapping[str, Volume]] = None,
        cost: Cost = "softmax_loss",
        mask: Union[None, Volume, Mapping[str, Volume]] = None,
        weight: Union[None, Volume, Mapping[str, Volume]] = None,
    ) -> dict[str, Volume]: ...
    def step(
        self,
        *,
        eta: float = 0.01,
        optimizer: Optimizer = "sgd",
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
    ) -> None: ...
    @property
    def parameters(self) -> dict[str, Volume]: ...
    def set_parameters(self, values: Mapping[str, Volume]) -> None: ...
    def save(self, path: Union[str, "os.PathLike[str]"]) -> None: ...

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
def eval(
    config: Optional[str] = None,
    *,
    seg: Optional[str] = None,
    gt: Optional[str] = None,
    mask: Optional[str] = None,
    set: Optional[Mapping[str, Any]] = None,
    range: Optional[str] = None,
    mode: Optional[Literal["labels", "interior", "membrane", "affinity"]] = None,
    threshold: Union[float, Sequence[float]] = (0.5,),
    channel: int = 0,
    ignore: Sequence[int] = (0,),
    planar: bool = False,
    offset: Optional[Sequence[int]] = None,
    comm: Any = None,
    log_level: Literal["debug", "info", "warn", "error"] = "info",
) -> list[dict[str, Any]]: ...
def read_volume(address: Union[str, "os.PathLike[str]"], box: Optional[Sequence[int]] = None) -> numpy.typing.NDArray[Any]: ...
def write_volume(
    address: Union[str, "os.PathLike[str]"], array: numpy.typing.NDArray[Any], *, overwrite: bool = False, gzip: int = 1
) -> None: ...
def version() -> str: ...
def simd() -> Literal["avx2", "avx512"]: ...
