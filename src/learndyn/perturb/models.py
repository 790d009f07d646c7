"""The models of adversarial.md, 'Models', built from their ids.

Every nonlinearity is an ``nn.ReLU`` module and every max-pool an ``nn.MaxPool2d`` module (never the
functional forms), so the breakpoint analysis can hook pre-activations; models are ``nn.Sequential``
except ResNet-18.  Every layer has a bias.  Ids (N = image side, D = C·N²):

- ``linear``; ``fc_lin_l{L}`` (L × Linear(D, D), then the readout); ``fc_relu`` (hidden 1000);
- ``conv_{lin,relu}_l{L}_k{K}_c{C}``: L × [circular pad -> Conv2d(K)] (+ ReLU) -> Flatten -> Linear;
  the pad follows ``pad_mode`` (exact | authors | valid, adversarial.md, 'Models'); the padded conv is one
  :class:`CircularConv2d` module (an ``nn.Conv2d``; through the DFT in exact mode);
- ``simple`` / ``simple_lin``: valid Conv(C_in -> 32, 3) (+ ReLU) -> readout;
- ``lc_{lin,relu}_k{K}[_c{C}][_convinit]``: locally connected (no weight sharing), valid; C defaults to
  round(32·(N−2)² / (N−K+1)²) (same hidden size as ``simple``); ``_convinit`` copies one conv kernel to
  every position (authors' 2021 init), else normal(0, 0.1) (reading 0.1 as the std: reconstruction);
- ``small_cnn`` (authors' MNIST net), ``resnet18`` (CIFAR variant: 3×3 stem, no max-pool);
- a suffix ``_a{a}`` (e.g. ``fc_relu_a10``) scales the first layer's weights and bias by a and the
  readout by 1/a (scale variants, authors' code).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

PAD_MODES = ("exact", "authors", "valid")
_ID = re.compile(
    r"^(?P<base>linear|fc_lin_l(?P<fl>\d+)|fc_relu|simple|simple_lin|small_cnn|resnet18"
    r"|conv_(?P<cact>lin|relu)_l(?P<cl>\d+)_k(?P<ck>\d+)_c(?P<cc>\d+)"
    r"|lc_(?P<lact>lin|relu)_k(?P<lk>\d+)(?:_c(?P<lc>\d+))?(?P<convinit>_convinit)?)"
    r"(?:_a(?P<scale>\d+(?:\.\d+)?))?$"
)
FC_HIDDEN = 1000
SIMPLE_CHANNELS = 32


class ModelError(ValueError):
    """A model id that does not parse, or does not fit the input shape."""


def parse_model_id(model_id: str) -> dict:
    m = _ID.match(model_id)
    if not m:
        raise ModelError(
            f"model id {model_id!r} is not one of the ids of adversarial.md, 'Models' (linear, fc_lin_l<L>, fc_relu, "
            "conv_{lin,relu}_l<L>_k<K>_c<C>, simple[_lin], lc_{lin,relu}_k<K>[_c<C>][_convinit], "
            "small_cnn, resnet18; optional suffix _a<scale>)"
        )
    return {k: v for k, v in m.groupdict().items() if v is not None}


def is_linear(model_id: str) -> bool:
    """True for models without any nonlinearity (their input gradient beta is constant)."""
    p = parse_model_id(model_id)
    b = p["base"]
    return (
        b == "linear" or b.startswith("fc_lin") or b == "simple_lin" or p.get("cact") == "lin" or p.get("lact") == "lin"
    )


def circular_pad(k: int, mode: str) -> tuple[int, int] | None:
    """(before, after) wrap-around pad of a K-wide conv, or None (valid)."""
    if mode == "exact":  # N x N output; K = N is a true full-width circular convolution
        return (k - 1) // 2, k // 2
    if mode == "authors":  # ceil((K-1)/2) on both sides: (N+1) x (N+1) for even K
        return k // 2, k // 2
    if mode == "valid":
        return None
    raise ModelError(f"pad_mode must be one of {PAD_MODES}, got {mode!r}")


class LocallyConnected2d(nn.Module):
    """A conv without weight sharing: y[b,o,l] = sum_i W[l,o,i] U[b,i,l] + bias[l,o], U = unfold(x).

    Valid (unpadded), stride 1.  Weight W has shape (L, C_out, C_in·K²), L = H'·W'.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, in_size: int):
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.out_size = in_size - kernel_size + 1
        if self.out_size < 1:
            raise ModelError(f"locally connected kernel {kernel_size} exceeds the input side {in_size}")
        n_pos = self.out_size**2
        self.weight = nn.Parameter(torch.empty(n_pos, out_channels, in_channels * kernel_size**2))
        self.bias = nn.Parameter(torch.empty(n_pos, out_channels))

    def init_normal(self, std: float = 0.1) -> None:
        nn.init.normal_(self.weight, 0.0, std)
        nn.init.normal_(self.bias, 0.0, std)

    @torch.no_grad()
    def init_from_conv(self, conv: nn.Conv2d) -> None:
        """Every position copies the conv's kernel: equals the conv at init (unfold order = weight.view)."""
        self.weight.copy_(conv.weight.reshape(1, self.out_channels, -1).expand_as(self.weight))
        self.bias.copy_(conv.bias.reshape(1, -1).expand_as(self.bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = F.unfold(x, self.kernel_size)  # (B, C_in·K², L)
        y = torch.einsum("loi,bil->bol", self.weight, u) + self.bias.T
        return y.reshape(x.shape[0], self.out_channels, self.out_size, self.out_size)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, out={self.out_size}"


class CircularConv2d(nn.Conv2d):
    """Wrap-around pad (before, after) then an unpadded conv; weights as nn.Conv2d's.

    With ``use_fft`` (exact mode, output N x N) the same map is computed as a circular convolution in
    the DFT domain: y = x ⊛ h with h the kernel flipped and placed at offsets -a + before (mod N).  Equal
    to the padded conv up to float rounding (tested) and cheaper at every K on CPU (measured at N = 28,
    batch 100, forward + input gradient: 3x at K = 3, 18x at K = 28, where the direct conv costs N^4
    per channel pair), which keeps attacks on full-width models affordable.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, pad: tuple[int, int], use_fft: bool = False
    ):
        super().__init__(in_channels, out_channels, kernel_size)
        self.pad, self.use_fft = tuple(int(p) for p in pad), bool(use_fft)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.use_fft:
            lo, hi = self.pad
            return self._conv_forward(F.pad(x, (lo, hi, lo, hi), mode="circular"), self.weight, self.bias)
        n, k = x.shape[-1], self.kernel_size[0]
        h = F.pad(self.weight.flip(-2, -1), (0, n - k, 0, n - k))
        h = torch.roll(h, shifts=(self.pad[0] - k + 1,) * 2, dims=(-2, -1))
        y = torch.einsum("bihw,oihw->bohw", torch.fft.rfft2(x), torch.fft.rfft2(h))
        return torch.fft.irfft2(y, s=(n, n)) + self.bias[:, None, None]

    def extra_repr(self) -> str:
        return super().extra_repr() + f", circular_pad={self.pad}, fft={self.use_fft}"


class BasicBlock(nn.Module):
    """ResNet basic block; separate ReLU modules so every nonlinearity can be hooked."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
        self.relu2 = nn.ReLU()

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        return self.relu2(self.bn2(self.conv2(out)) + self.shortcut(x))


class GlobalAvgPool(nn.Module):
    """Mean over the spatial axes: unlike AdaptiveAvgPool2d its backward is deterministic on CUDA."""

    def forward(self, x):
        return x.mean(dim=(-2, -1))


def resnet18(in_channels: int, n_classes: int) -> nn.Sequential:
    """CIFAR ResNet-18: 3×3 stem (64 ch, stride 1, no max-pool), [2,2,2,2] blocks, avg pool, Linear(512)."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()]
    c = 64
    for width, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [BasicBlock(c, width, stride), BasicBlock(width, width, 1)]
        c = width
    layers += [GlobalAvgPool(), nn.Linear(512, n_classes)]
    return nn.Sequential(*layers)


def _conv_stack(p: dict, c_in: int, n: int, n_classes: int, pad_mode: str) -> nn.Sequential:
    depth, k, c = int(p["cl"]), int(p["ck"]), int(p["cc"])
    layers: list[nn.Module] = []
    side = n
    for _ in range(depth):
        pad = circular_pad(k, pad_mode)
        if pad is not None:
            lo, hi = pad
            if max(lo, hi) > side:
                raise ModelError(f"kernel {k} needs a circular pad {hi} larger than the input side {side}")
            side = side + lo + hi
        side = side - k + 1
        if side < 1:
            raise ModelError(f"conv kernel {k} does not fit a {n}x{n} input in pad_mode {pad_mode!r}")
        layers.append(
            nn.Conv2d(c_in, c, k) if pad is None else CircularConv2d(c_in, c, k, pad, use_fft=pad_mode == "exact")
        )
        if p["cact"] == "relu":
            layers.append(nn.ReLU())
        c_in = c
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * side * side, n_classes))


def _lc_stack(p: dict, c_in: int, n: int, n_classes: int) -> nn.Sequential:
    k = int(p["lk"])
    out = n - k + 1
    if out < 1:
        raise ModelError(f"locally connected kernel {k} does not fit a {n}x{n} input")
    c = int(p["lc"]) if "lc" in p else max(1, round(SIMPLE_CHANNELS * (n - 2) ** 2 / out**2))
    lc = LocallyConnected2d(c_in, c, k, n)
    if "convinit" in p:
        # conv_init: the conv is drawn first, as conv_{act}_l1_k{K}_c{C} in valid mode would draw it,
        # so the LC net equals that conv net at init (same seed) and differs only by untied training.
        lc.init_from_conv(nn.Conv2d(c_in, c, k))
    else:
        lc.init_normal(0.1)
    act = [nn.ReLU()] if p["lact"] == "relu" else []
    return nn.Sequential(lc, *act, nn.Flatten(), nn.Linear(c * out * out, n_classes))


def _build(p: dict, in_shape: tuple[int, int, int], n_classes: int, pad_mode: str) -> nn.Module:
    c_in, n, n2 = in_shape
    if n != n2:
        raise ModelError(f"square inputs only, got {in_shape}")
    d = c_in * n * n
    b = p["base"]
    if b == "linear":
        return nn.Sequential(nn.Flatten(), nn.Linear(d, n_classes))
    if "fl" in p:
        return nn.Sequential(nn.Flatten(), *[nn.Linear(d, d) for _ in range(int(p["fl"]))], nn.Linear(d, n_classes))
    if b == "fc_relu":
        return nn.Sequential(nn.Flatten(), nn.Linear(d, FC_HIDDEN), nn.ReLU(), nn.Linear(FC_HIDDEN, n_classes))
    if "cact" in p:
        return _conv_stack(p, c_in, n, n_classes, pad_mode)
    if "lact" in p:
        return _lc_stack(p, c_in, n, n_classes)
    if b in ("simple", "simple_lin"):
        act = [nn.ReLU()] if b == "simple" else []
        return nn.Sequential(
            nn.Conv2d(c_in, SIMPLE_CHANNELS, 3),
            *act,
            nn.Flatten(),
            nn.Linear(SIMPLE_CHANNELS * (n - 2) ** 2, n_classes),
        )
    if b == "small_cnn":
        side = (n - 4) // 2
        return nn.Sequential(
            nn.Conv2d(c_in, 32, 3),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * side * side, 128),
            nn.ReLU(),
            nn.Linear(128, n_classes),
        )
    if b == "resnet18":
        return resnet18(c_in, n_classes)
    raise ModelError(f"unhandled model id {b!r}")  # pragma: no cover (the regex lists every base)


def _affine_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d, LocallyConnected2d))]


@torch.no_grad()
def _apply_scale(model: nn.Module, a: float) -> None:
    """First layer (weights and bias) × a, readout ÷ a (scale variants, authors' code)."""
    layers = _affine_layers(model)
    first, last = layers[0], layers[-1]
    first.weight.mul_(a)
    if first.bias is not None:
        first.bias.mul_(a)
    last.weight.div_(a)


def build_model(
    model_id: str,
    in_shape: tuple[int, int, int],
    n_classes: int = 10,
    *,
    pad_mode: str = "exact",
    seed: int | None = None,
) -> nn.Module:
    """The model ``model_id`` for inputs ``in_shape`` (C, N, N); seeded init without touching global RNG."""
    p = parse_model_id(model_id)
    circular_pad(3, pad_mode)  # validates pad_mode for every id
    in_shape = tuple(int(s) for s in in_shape)
    if seed is None:
        model = _build(p, in_shape, n_classes, pad_mode)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            model = _build(p, in_shape, n_classes, pad_mode)
    if "scale" in p:
        _apply_scale(model, float(p["scale"]))
    return model


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def load_model(run_dir: str | os.PathLike, step: int) -> nn.Module:
    """The model saved at ``step`` of a training run, in eval mode: loaded weights-only through the
    run's manifest (``checkpoints.parquet``), which checks the file's sha256 and run identity.

    The checkpoint carries the model's description (id, input shape, classes, pad mode) under
    ``checkpoint["perturb"]`` (written by :class:`learndyn.perturb.module.PerturbClassifier`).
    """
    from learndyn.checkpoints import CheckpointError, RunCheckpoints

    ckpts = RunCheckpoints(Path(run_dir) / "checkpoints.parquet")
    path, ckpt = ckpts.file(step), ckpts.load(step)
    meta = ckpt.get("perturb")
    if not isinstance(meta, dict) or "model" not in meta:
        raise CheckpointError(f"{path}: not a perturb checkpoint (no 'perturb' model description)")
    model = build_model(meta["model"], tuple(meta["in_shape"]), int(meta["n_classes"]), pad_mode=meta["pad_mode"])
    state = {k.removeprefix("net."): v for k, v in ckpt["state_dict"].items() if k.startswith("net.")}
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(f"{path}: weights do not fit model {meta['model']!r}: {err}") from err
    return model.eval()


def receptive_side(model_id: str) -> int | None:
    """Kernel size K of conv / LC ids (None for the others)."""
    p = parse_model_id(model_id)
    k = p.get("ck") or p.get("lk")
    return int(k) if k else None


__all__ = [
    "PAD_MODES",
    "ModelError",
    "LocallyConnected2d",
    "build_model",
    "load_model",
    "parse_model_id",
    "is_linear",
    "circular_pad",
    "n_parameters",
    "receptive_side",
]
