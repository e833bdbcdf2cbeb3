"""Fitting one training step into the memory a machine has (used by `train_ch6` on the CPU).

At the book's settings one SGD step keeps a lot of activations for the backward
pass: VGG-11/4 on a batch of 128 images of 224x224 keeps about 1.5 GB, DenseNet on
256 images of 96x96 about 1.4 GB. On a 2 GB machine (Binder) that step does not
fit. Two remedies give the same step as the book's, up to float rounding (with
dropout, the masks are drawn differently, so the step is the same in distribution):

- *gradient accumulation*: split the batch into micro-batches, run forward and
  backward on each with its share of the mean loss, and step once. The gradients
  add up to the whole batch's gradient. Only valid when the forward pass of one
  example does not depend on the others, i.e. no batch normalisation.
- *activation checkpointing*: for nets with BatchNorm, whose statistics need the
  whole batch, keep only the input of each small block in the forward pass and
  recompute the block's activations during the backward pass. The running
  statistics are updated once per step, as without checkpointing.

`plan_step` measures what a step needs (`probe`) and picks one of them; the plan
also evaluates in chunks. `map_large_blocks` keeps glibc from hoarding freed
activations, so that the peak stays flat over many steps.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import gc
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

__all__ = [
    "StepPlan",
    "Probe",
    "available_memory",
    "checkpoint_blocks",
    "checkpointed",
    "default_budget",
    "map_large_blocks",
    "plan_step",
    "probe",
    "release_memory",
]

_UNLIMITED = 2**60  # cgroup v1 writes "no limit" as a number close to 2**63
_PROBE_EXAMPLES = 8
_MIN_BUDGET = 64 * 2**20  # below this the machine is out of memory anyway; do not crawl


# ---------------------------------------------------------------- available memory
def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max" (cgroup v2: no limit) -> None


def _stat(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == key:
                return int(parts[1])
    except (OSError, ValueError):
        pass
    return 0


def _cgroup_room(base: Path, cgroup_dir: Path, limit: str, usage: str, inactive: str) -> int | None:
    """Smallest (limit - working set) from cgroup_dir up to the hierarchy's root `base`."""
    room = None
    for d in (cgroup_dir, *cgroup_dir.parents):
        if not d.is_relative_to(base):
            break
        cap = _read_int(d / limit)
        if cap is not None and cap < _UNLIMITED:
            used = _read_int(d / usage) or 0
            # page cache that is not in active use can be reclaimed (as Kubernetes counts it)
            used -= min(used, _stat(d / "memory.stat", inactive))
            room = cap - used if room is None else min(room, cap - used)
    return room


def available_memory(
    proc: str | Path = "/proc", cgroup_root: str | Path = "/sys/fs/cgroup"
) -> int | None:
    """Bytes this process can still allocate, or None where it cannot be read (not Linux).

    The smaller of the system's `MemAvailable` and the room left under the
    memory limit of the process's cgroup (a container's limit, e.g. Binder's 2 GB),
    cgroup v1 or v2.
    """
    proc, cgroup_root = Path(proc), Path(cgroup_root)
    free = _stat(proc / "meminfo", "MemAvailable:") * 1024 or None
    try:
        lines = (proc / "self" / "cgroup").read_text().splitlines()
    except OSError:
        lines = []
    rooms = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        rel = path.lstrip("/")
        if controllers == "":  # cgroup v2
            base = cgroup_root / "unified" if (cgroup_root / "unified").is_dir() else cgroup_root
            room = _cgroup_room(base, base / rel, "memory.max", "memory.current", "inactive_file")
        elif "memory" in controllers.split(","):  # cgroup v1
            base = cgroup_root / "memory"
            room = _cgroup_room(
                base,
                base / rel,
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
                "total_inactive_file",
            )
        else:
            continue
        if room is not None:
            rooms.append(room)
    values = [v for v in (free, *rooms) if v is not None]
    return max(0, min(values)) if values else None


# ---------------------------------------------------------------- what one step needs
@dataclass
class Probe:
    """What a forward pass in training mode needs, measured on a few examples."""

    saved_bytes_per_example: float  # activations kept for the backward pass, per example
    batch_coupled: bool  # does an example's output depend on the rest of its batch?


def _tensors(m: nn.Module) -> dict[str, torch.Tensor]:
    """A module's buffers and plain tensor attributes (the book's BatchNorm keeps its
    moving statistics as plain attributes), without its parameters."""
    out = {k: v for k, v in vars(m).items() if isinstance(v, torch.Tensor)}
    out.update({k: v for k, v in m._buffers.items() if v is not None})
    return out


def probe(net: nn.Module, X: torch.Tensor) -> Probe:
    """Run a copy of `net` on X (B, ...) in training mode and measure what it keeps.

    Counts the distinct storages that autograd saves for the backward pass, minus
    the parameters. A net is batch-coupled if it has BatchNorm layers or its
    forward pass changes a buffer or tensor attribute (running statistics). Neither
    `net` nor the CPU's random number generator is changed.
    """
    X = X.detach().clone()  # a slice of a batch would otherwise count the whole batch's storage
    with torch.random.fork_rng(devices=[]):
        copy_ = copy.deepcopy(net)
        copy_.train()
        params = {p.untyped_storage().data_ptr() for p in copy_.parameters()}
        saved: dict[int, int] = {}

        def pack(t: torch.Tensor) -> torch.Tensor:
            storage = t.untyped_storage()
            if storage.data_ptr() not in params:
                saved[storage.data_ptr()] = storage.nbytes()
            # detached: an output saved by its own node would otherwise form a cycle through
            # autograd's C++ graph that Python's garbage collector cannot free
            return t.detach()

        before = {(id(m), k): v.clone() for m in copy_.modules() for k, v in _tensors(m).items()}
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            copy_(X)
        after = {(id(m), k): v for m in copy_.modules() for k, v in _tensors(m).items()}
        changed = before.keys() != after.keys() or any(
            v.shape != after[key].shape or not torch.equal(v, after[key])
            for key, v in before.items()
        )
        has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in copy_.modules())
    return Probe(sum(saved.values()) / X.shape[0], has_bn or changed)


# ---------------------------------------------------------------- activation checkpointing
def checkpoint_blocks(net: nn.Module) -> list[nn.Module]:
    """The smallest blocks worth checkpointing: modules with two or more children,
    all of them leaves (a conv-BN-ReLU `Sequential`, a `Residual`, an `Inception`).
    Never the whole net: checkpointing it would keep nothing less."""
    return [b for k in net.children() for b in _leaf_blocks(k)]


def _leaf_blocks(m: nn.Module) -> list[nn.Module]:
    kids = list(m.children())
    if len(kids) >= 2 and all(not list(k.children()) for k in kids):
        return [m]
    return [b for k in kids for b in _leaf_blocks(k)]


@contextlib.contextmanager
def _keep_tensors(block: nn.Module) -> Iterator[None]:
    """Undo what a recomputed forward pass does to running statistics."""
    saved = [(m, k, v, v.clone()) for m in block.modules() for k, v in _tensors(m).items()]
    try:
        yield
    finally:
        with torch.no_grad():
            for m, k, v, value in saved:
                setattr(m, k, v)
                v.copy_(value)


@contextlib.contextmanager
def checkpointed(blocks: list[nn.Module]) -> Iterator[None]:
    """Within this context, each block keeps only its input for the backward pass and
    recomputes the rest (`torch.utils.checkpoint`, dropout masks included); the
    recomputation leaves running statistics as the first forward pass left them."""

    def wrap(block: nn.Module):
        forward = block.forward

        def run(*args):
            return checkpoint(
                forward,
                *args,
                use_reentrant=False,
                context_fn=lambda: (contextlib.nullcontext(), _keep_tensors(block)),
            )

        return run

    for block in blocks:
        block.forward = wrap(block)  # an instance attribute shadows the class's forward
    try:
        yield
    finally:
        for block in blocks:
            del block.forward


# ---------------------------------------------------------------- the plan
@dataclass
class StepPlan:
    """How `train_ch6` runs one step: whole, in micro-batches, or checkpointed."""

    micro_batch: int | None = None  # split each batch into chunks of this many examples
    blocks: list[nn.Module] = field(default_factory=list)  # checkpoint these
    eval_batch: int | None = None  # evaluate in chunks of this many examples
    reason: str = ""  # one line for the learner; empty when the step runs as in the book

    def context(self) -> contextlib.AbstractContextManager:
        return checkpointed(self.blocks) if self.blocks else contextlib.nullcontext()

    def chunked(self, data_iter: Iterable) -> Iterable:
        """data_iter with its batches split into `eval_batch` examples (for evaluation:
        in eval mode every example is computed on its own, so the accuracy is the same)."""
        return data_iter if self.eval_batch is None else _Chunked(data_iter, self.eval_batch)


class _Chunked:
    def __init__(self, data_iter: Iterable, size: int) -> None:
        self.data_iter, self.size = data_iter, size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for X, y in self.data_iter:
            if isinstance(X, torch.Tensor):
                yield from zip(X.split(self.size), y.split(self.size), strict=True)
            else:  # several inputs (e.g. a list): left whole
                yield X, y


def _gb(n: float) -> str:
    return f"{n / 2**30:.2f} GB"


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the system (glibc's `malloc_trim`),
    so that memory freed by a finished training counts as available again."""
    gc.collect()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (e.g. musl)
            pass


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


def map_large_blocks(threshold: int = 2**20) -> bool:
    """Ask glibc to allocate blocks of `threshold` bytes or more with mmap, so that each
    is returned to the system as soon as it is freed. By default glibc raises that
    threshold to 32 MB as a program runs and keeps freed activations in its heap, where
    they fragment: a training step's peak then creeps up from step to step. Costs some
    speed (fresh pages for every large tensor). The setting lasts until the process
    (the notebook's kernel) ends: glibc cannot report the old value to restore it.
    Returns False where it does not apply (not Linux, or not glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, threshold))
    except (OSError, AttributeError):
        return False


def default_budget(net: nn.Module) -> int | None:
    """Bytes of activations one step may keep: a quarter of the memory still available
    after the gradients' share. A step needs about twice what it keeps (the gradients of
    the activations come on top during the backward pass), and the rest is headroom.
    None where the available memory cannot be read."""
    release_memory()
    free = available_memory()
    if free is None:
        return None
    grads = sum(p.numel() * p.element_size() for p in net.parameters() if p.requires_grad)
    return max(_MIN_BUDGET, (free - grads) // 4)


def plan_step(net: nn.Module, X: torch.Tensor, budget: int | None = None) -> StepPlan:
    """Choose how to run a training step on batch X (B, ...) within `budget` bytes of
    saved activations (default: `default_budget(net)`; where the available memory is
    unknown, the step runs whole)."""
    if budget is None:
        budget = default_budget(net)
        if budget is None:
            return StepPlan()
    if budget <= 0:
        raise ValueError(f"memory budget must be positive bytes, got {budget}")
    batch = X.shape[0]
    found = probe(net, X[: min(batch, _PROBE_EXAMPLES)])
    need = found.saved_bytes_per_example * batch
    if need <= budget:
        return StepPlan()
    head = (
        f"memory: a step on {batch} examples keeps ~{_gb(need)} of activations for the "
        f"backward pass, more than this machine's budget of {_gb(budget)}"
    )
    # evaluation (no autograd) needs less per example than a training step keeps
    micro = max(1, int(budget // found.saved_bytes_per_example))
    if not found.batch_coupled:
        return StepPlan(
            micro_batch=micro,
            eval_batch=micro,
            reason=f"{head}; each batch runs as micro-batches of {micro} whose gradients add "
            "up to the batch's gradient (gradient accumulation: the same step up to float "
            "rounding, except that dropout draws its masks per micro-batch)",
        )
    blocks = checkpoint_blocks(net)
    if not blocks:
        return StepPlan(eval_batch=micro, reason=f"{head}; nothing to checkpoint, running it whole")
    return StepPlan(
        blocks=blocks,
        eval_batch=micro,
        reason=f"{head}; BatchNorm needs the whole batch, so {len(blocks)} blocks recompute their "
        "activations in the backward pass instead of keeping them (activation "
        "checkpointing: the same step, less memory though maybe still more than the "
        "budget, slower)",
    )
