"""Which number format to train and predict in, decided from what the hardware offers.

Deep-learning maths does not need float32's 24 bits of mantissa. ``bfloat16`` keeps
float32's range with 8 bits of mantissa, and CPUs with bfloat16 instructions multiply
such matrices several times faster. Keras' ``mixed_bfloat16`` policy computes in
bfloat16 while the weights (and the optimizer's updates to them) stay float32; the
logits are cast back to float32 before the loss (``helpers.model.compile_classifier``).

One function decides, ``choose_precision``; one line says what it chose and why:

- a GPU with tensor cores (compute capability 7.0 or newer): ``mixed_float16``
  (untested in this project: no GPU was available to it);
- a CPU with AMX-BF16 (``amx_bf16`` in ``/proc/cpuinfo``): ``mixed_bfloat16``;
- a CPU with AVX512-BF16 only: a short probe times a bfloat16 and a float32 matrix
  product, and ``mixed_bfloat16`` is used where it is clearly faster;
- anything else: ``float32``.

A setting overrides it: the ``precision=`` argument of ``load_classifier`` (or
``RunSettings.precision``, ``--precision``) when it names a policy (``float32``,
``mixed_bfloat16`` or ``mixed_float16``), else the environment variable ``HELPERS_PRECISION``;
``auto`` (the default) leaves the choice to the variable, then to the hardware.

    >>> from helpers.precision import choose_precision
    >>> choose_precision("float32")
    Precision(policy='float32', reason='asked for float32')
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from helpers.backend import keras, tf

ENV_VAR = "HELPERS_PRECISION"
POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
PROBE_MIN_SPEEDUP = 1.2  # bfloat16 must beat float32 by this much in the probe to be chosen
# Families whose TensorFlow code fails under a mixed policy (found by helpers.compatibility):
# they compute in float32 whatever the machine could do.
FLOAT32_ONLY = {"xlnet": "TensorFlow's XLNet attention mixes float32 and bfloat16 in one einsum"}


@dataclass(frozen=True)
class Precision:
    """A Keras dtype policy name and the reason it was chosen.
    Not in a notebook.
    """

    policy: str
    reason: str

    def __str__(self) -> str:
        return f"precision: {self.policy} ({self.reason})"


def cpu_flags(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> set[str]:
    """The CPU's feature flags (Linux); an empty set where they cannot be read.
    Not in a notebook.

    >>> "sse2" in cpu_flags() or not Path("/proc/cpuinfo").exists()
    True
    """
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


@functools.cache
def cpu_count() -> int:
    """The CPU cores this process may run on. Not in a notebook.

    >>> cpu_count() >= 1
    True
    """
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cpu_summary(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> str:
    """This machine's CPU as figures are labelled with: cores, model and its bfloat16 flags.
    Not in a notebook.

    >>> "cores" in cpu_summary()
    True
    """
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        text = ""
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")),
                 "an unknown CPU")
    flags = sorted(cpu_flags(cpuinfo) & {"avx512_bf16", "amx_bf16"})
    return f"{cpu_count()} cores of {model} with {' '.join(flags) or 'no bfloat16 instructions'}"


def bf16_matmul_speedup(n: int = 1024, repeats: int = 5) -> float:
    """How many times faster a bfloat16 ``n x n`` matrix product runs than a float32 one.

    The median of ``repeats`` timings each, after one warm-up; about half a second.
    Not in a notebook.

    >>> bf16_matmul_speedup(n=64, repeats=1) > 0
    True
    """
    def median_seconds(dtype: tf.DType) -> float:
        a = tf.cast(tf.random.stateless_normal((n, n), seed=(0, 0)), dtype)
        product = tf.function(lambda x: tf.matmul(x, x))
        product(a).numpy()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            product(a).numpy()
            times.append(time.perf_counter() - start)
        return sorted(times)[len(times) // 2]

    return median_seconds(tf.float32) / median_seconds(tf.bfloat16)


def _gpu_capability() -> tuple[int, int] | None:
    """The first GPU's compute capability, or None without a GPU."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    return tuple(details.get("compute_capability") or (0, 0))


def choose_precision(
    setting: str | None = None,
    *,
    flags: set[str] | None = None,
    gpu: tuple[int, int] | None | str = "detect",
    probe: Callable[[], float] = bf16_matmul_speedup,
) -> Precision:
    """Decide the Keras dtype policy: ``setting`` if it names one, else ``$HELPERS_PRECISION``
    if that does, else from the hardware. ``flags``, ``gpu`` and ``probe`` are there for tests.
    Taught in notebooks/03_lr_finder.ipynb and notebooks/04_one_cycle_training.ipynb.

    >>> choose_precision("auto", flags={"amx_bf16", "avx512_bf16"}, gpu=None).policy
    'mixed_bfloat16'
    >>> choose_precision("auto", flags={"avx2"}, gpu=None).policy
    'float32'
    """
    setting = (setting or "auto").strip().lower()
    if setting == "auto":  # the variable overrides the default, "auto", but not a named policy
        setting = (os.environ.get(ENV_VAR) or "auto").strip().lower()
    if setting in POLICIES:
        return Precision(setting, f"asked for {setting}")
    if setting != "auto":
        raise ValueError(f"Unknown precision {setting!r}: use 'auto' or one of {', '.join(POLICIES)} "
                         f"(argument precision=..., or the environment variable {ENV_VAR}).")
    capability = _gpu_capability() if gpu == "detect" else gpu
    if capability:
        if capability >= (7, 0):
            return Precision("mixed_float16", f"GPU with compute capability {capability[0]}.{capability[1]} "
                                              "(tensor cores; untested in this project)")
        return Precision("float32", f"GPU with compute capability {capability[0]}.{capability[1]}, "
                                    "too old for fast float16")
    flags = cpu_flags() if flags is None else flags
    if "amx_bf16" in flags:
        return Precision("mixed_bfloat16", "CPU has AMX-BF16 (the amx_bf16 flag)")
    if "avx512_bf16" in flags:
        speedup = probe()
        if speedup >= PROBE_MIN_SPEEDUP:
            return Precision("mixed_bfloat16", f"CPU has AVX512-BF16; a bfloat16 matrix product "
                                               f"ran {speedup:.1f}x faster than float32")
        return Precision("float32", f"CPU has AVX512-BF16, but a bfloat16 matrix product ran only "
                                    f"{speedup:.1f}x as fast as float32")
    return Precision("float32", "CPU has no bfloat16 instructions (no amx_bf16 or avx512_bf16)")


def for_family(precision: Precision, model_type: str) -> Precision:
    """``precision``, or float32 for a family that cannot compute in a mixed policy (the reason says why).
    Not in a notebook.

    >>> for_family(Precision("mixed_bfloat16", "AMX"), "xlnet").policy
    'float32'
    >>> for_family(Precision("mixed_bfloat16", "AMX"), "bert").policy
    'mixed_bfloat16'
    """
    if precision.policy == "float32" or model_type not in FLOAT32_ONLY:
        return precision
    return Precision("float32", f"{FLOAT32_ONLY[model_type]}, so float32 rather than {precision.policy}")


@contextlib.contextmanager
def precision_scope(precision: Precision | str) -> Iterator[Precision]:
    """Build Keras layers under ``precision``'s policy; the global policy is put back after.

    Layers keep the policy they were built with, so a model built in the block trains and
    predicts in that precision, and models built later are not affected.
    Not in a notebook.

    >>> with precision_scope("float32") as chosen:
    ...     layer = keras.layers.Dense(2)
    >>> layer.dtype_policy.name
    'float32'
    """
    chosen = precision if isinstance(precision, Precision) else choose_precision(precision)
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(chosen.policy)
    try:
        yield chosen
    finally:
        keras.mixed_precision.set_global_policy(before)


def model_precision(model: keras.Model) -> str:
    """The dtype policy a model computes in, e.g. ``'mixed_bfloat16'``.
    Not in a notebook.

    >>> model_precision(keras.Sequential([keras.layers.Dense(1, input_shape=(2,))]))
    'float32'
    """
    return model.dtype_policy.name
