"""The Musslick/Cohen task-cued multitask environment and network (pseudo_kernel.md, 'Multitask environment' to
'Training protocol').

Stimulus: 4 input dimensions i × 3 features f, unit 3i + f, each dimension one-hot.
Task t = 3i + g: "report input dimension i's feature on output group g".
Input x = [stimulus (12); task cue (12)]. Output unit k = 3g + m.
A legal task set has distinct input dimensions and distinct output groups, so
multitask errors come only from crosstalk through shared hidden units.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

N_DIMS = 4  # input dimensions
N_FEATURES = 3  # features per dimension
N_GROUPS = 3  # output groups
N_STIM = N_DIMS * N_FEATURES  # 12 stimulus units
N_TASKS = N_DIMS * N_GROUPS  # 12 task units
N_IN = N_STIM + N_TASKS  # 24
N_OUT = N_GROUPS * N_FEATURES  # 9
N_HIDDEN = 200
BIAS = -2.0  # all biases, frozen (authors' code)

# Probability of a task-set size, then uniform over legal sets of that size (pseudo_kernel.md, 'Curricula').
CURRICULA: dict[str, dict[int, float]] = {
    "Single12All": {1: 1.0},
    "Multi12All": {1: 0.33, 2: 0.33, 3: 0.34},
}

__all__ = [
    "N_DIMS",
    "N_FEATURES",
    "N_GROUPS",
    "N_STIM",
    "N_TASKS",
    "N_IN",
    "N_OUT",
    "N_HIDDEN",
    "BIAS",
    "CURRICULA",
    "task_id",
    "task_dim",
    "task_group",
    "is_legal",
    "legal_task_sets",
    "encode",
    "TaskData",
    "sample_curriculum",
    "make_split",
    "grouping_labels",
    "TaskNet",
    "paired_inits",
    "scaled_inits",
    "sse",
]


def task_id(dim: int, group: int) -> int:
    return N_GROUPS * dim + group


def task_dim(task: int) -> int:
    """Input dimension read by a task (its predicted grouping, pseudo_kernel.md, 'Predicted groupings')."""
    return task // N_GROUPS


def task_group(task: int) -> int:
    """Output group written by a task."""
    return task % N_GROUPS


def is_legal(task_set) -> bool:
    dims = [task_dim(t) for t in task_set]
    groups = [task_group(t) for t in task_set]
    return len(set(dims)) == len(dims) and len(set(groups)) == len(groups)


def legal_task_sets(size: int) -> list[tuple[int, ...]]:
    """Sorted tuples of `size` tasks without structural conflict: 12, 36, 24 for sizes 1, 2, 3."""
    return [s for s in itertools.combinations(range(N_TASKS), size) if is_legal(s)]


def encode(features, task_set) -> tuple[np.ndarray, np.ndarray]:
    """Input (24,) and target (9,) for one stimulus (feature per dimension) and task set.

    Target: for each active task i → g, output group g is the one-hot of dimension i's
    feature; all other outputs 0.
    """
    x = np.zeros(N_IN, dtype=np.float32)
    y = np.zeros(N_OUT, dtype=np.float32)
    for i, f in enumerate(features):
        x[N_FEATURES * i + f] = 1.0
    for t in task_set:
        x[N_STIM + t] = 1.0
        y[N_FEATURES * task_group(t) + features[task_dim(t)]] = 1.0
    return x, y


@dataclass
class TaskData:
    """A sampled data set. x (N, 24), y (N, 9) float32 tensors; features (N, 4) feature per
    dimension; tasks (N, 12) bool task mask; n_tasks (N,)."""

    x: Tensor
    y: Tensor
    features: np.ndarray
    tasks: np.ndarray
    n_tasks: np.ndarray
    curriculum: str

    def __len__(self) -> int:
        return self.x.shape[0]


def sample_curriculum(curriculum: str, n: int, rng: np.random.Generator) -> TaskData:
    """n examples i.i.d. with replacement from the curriculum's finite pattern set.

    Size ~ CURRICULA[curriculum], task set uniform among legal sets of that size,
    stimulus uniform over the 3⁴ = 81 feature combinations. No deduplication.
    """
    probs = CURRICULA[curriculum]
    sizes = np.array(list(probs))
    p = np.array([probs[s] for s in sizes])
    sets_by_size = {s: legal_task_sets(s) for s in sizes}
    size = rng.choice(sizes, size=n, p=p / p.sum())
    features = rng.integers(0, N_FEATURES, size=(n, N_DIMS))
    xs = np.empty((n, N_IN), np.float32)
    ys = np.empty((n, N_OUT), np.float32)
    tasks = np.zeros((n, N_TASKS), bool)
    for e in range(n):
        options = sets_by_size[size[e]]
        task_set = options[rng.integers(len(options))]
        xs[e], ys[e] = encode(features[e], task_set)
        tasks[e, list(task_set)] = True
    return TaskData(torch.from_numpy(xs), torch.from_numpy(ys), features, tasks, size, curriculum)


def make_split(curriculum: str, seed: int, n_train: int = 500, n_test: int = 500) -> tuple[TaskData, TaskData]:
    """(train, test) from one seed; train and test may overlap (the authors did not dedupe)."""
    rng = np.random.default_rng(seed)
    return sample_curriculum(curriculum, n_train, rng), sample_curriculum(curriculum, n_test, rng)


def grouping_labels(data: TaskData) -> dict[str, np.ndarray]:
    """Per-example group labels for single-task examples (−1 for multitask examples).

    task (12): the active task; input (12): the stimulus unit the task reads, 3i + f_i;
    task_x_input (36): 3·task + f_i; output (9): the target-active unit 3g + f_i.
    12 + 12 + 36 + 9 = 69 averaged items (pseudo_kernel.md, 'Hidden representations over training').
    """
    n = len(data)
    single = data.n_tasks == 1
    task = np.where(single, data.tasks.argmax(1), -1)
    dim, group = task // N_GROUPS, task % N_GROUPS
    feat = data.features[np.arange(n), np.clip(dim, 0, None)]
    lab = {
        "task": task,
        "input": N_FEATURES * dim + feat,
        "task_x_input": N_FEATURES * task + feat,
        "output": N_FEATURES * group + feat,
    }
    return {k: np.where(single, v, -1) for k, v in lab.items()}


class TaskNet(nn.Module):
    """fc1: 24 → H sigmoid; fc2: [h; task cue] (H + 12) → 9 sigmoid.

    Weights W1 (H × 24), W2 (9 × (H + 12)) are the only parameters; the biases b1, b2 are
    buffers fixed at −2, so no optimiser can move them and the weights-only
    pseudo-kernel is the full gradient (pseudo_kernel.md, 'Conventions', 'Network').
    """

    def __init__(self, n_hidden: int = N_HIDDEN, bias: float = BIAS, dtype=torch.float32):
        super().__init__()
        self.n_hidden = n_hidden
        self.W1 = nn.Parameter(torch.zeros(n_hidden, N_IN, dtype=dtype))
        self.W2 = nn.Parameter(torch.zeros(N_OUT, n_hidden + N_TASKS, dtype=dtype))
        self.register_buffer("b1", torch.full((n_hidden,), bias, dtype=dtype))
        self.register_buffer("b2", torch.full((N_OUT,), bias, dtype=dtype))

    def hidden(self, x: Tensor) -> Tensor:
        return torch.sigmoid(x @ self.W1.T + self.b1)

    def forward(self, x: Tensor) -> Tensor:
        z = torch.cat([self.hidden(x), x[..., N_STIM:]], dim=-1)  # task cue feeds outputs directly
        return torch.sigmoid(z @ self.W2.T + self.b2)


def paired_inits(
    seed: int,
    w: float = 0.1,
    scale: float = 10.0,
    n_hidden: int = N_HIDDEN,
    dtype=torch.float32,
) -> tuple[TaskNet, TaskNet]:
    """(Std, Large) nets from one draw: Std weights U[−w, w], Large = scale × the same tensors.

    Paired by construction (pseudo_kernel.md, 'Training protocol'): Large is not an independent draw.
    """
    gen = torch.Generator().manual_seed(seed)
    std = TaskNet(n_hidden, dtype=dtype)
    with torch.no_grad():
        for p in (std.W1, std.W2):
            p.copy_((torch.rand(p.shape, generator=gen, dtype=torch.float64) * 2 - 1) * w)
    large = copy.deepcopy(std)
    with torch.no_grad():
        for p in large.parameters():
            p.mul_(scale)
    return std, large


def scaled_inits(seed: int, w: float, multiples, n_hidden: int = N_HIDDEN) -> list[TaskNet]:
    """Nets of one draw at init scales w × m for m in `multiples` (the init-scale sweep, pseudo_kernel.md,
    'Extensions').

    Every net is m × the Std net of :func:`paired_inits` (float32), so m = 1 is Std and
    m = Large's scale is Large, bit for bit: the sweep extends the Std/Large pair, not a new draw.
    """
    std, _ = paired_inits(seed, w=w, scale=1.0, n_hidden=n_hidden)
    nets = []
    for m in multiples:
        net = copy.deepcopy(std)
        with torch.no_grad():
            for p in net.parameters():
                p.mul_(m)
        nets.append(net)
    return nets


def sse(out: Tensor, y: Tensor) -> Tensor:
    """Summed squared error over examples × outputs (the training loss and test score)."""
    return ((out - y) ** 2).sum()
