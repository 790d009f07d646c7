"""Environment (T3) and network (T4) of the task-cued multitask study."""

import numpy as np
import pytest
import torch

from learndyn.kernel import multitask as mt
from learndyn.kernel.linear_case import train_gd


def test_legal_task_set_counts():
    sizes = {s: mt.legal_task_sets(s) for s in (1, 2, 3)}
    assert [len(v) for v in sizes.values()] == [12, 36, 24]
    assert mt.legal_task_sets(4) == []  # only 3 output groups
    for sets in sizes.values():
        for s in sets:
            assert len({mt.task_dim(t) for t in s}) == len(s)
            assert len({mt.task_group(t) for t in s}) == len(s)
    assert not mt.is_legal((mt.task_id(0, 0), mt.task_id(0, 1)))  # same input dimension
    assert not mt.is_legal((mt.task_id(0, 2), mt.task_id(3, 2)))  # same output group


def test_encode_example():
    # features (2, 0, 1, 1); tasks 1 → 0 and 3 → 2
    x, y = mt.encode([2, 0, 1, 1], (mt.task_id(1, 0), mt.task_id(3, 2)))
    assert np.flatnonzero(x[:12]).tolist() == [2, 3, 7, 10]
    assert np.flatnonzero(x[12:]).tolist() == [3, 11]
    assert np.flatnonzero(y).tolist() == [0 * 3 + 0, 2 * 3 + 1]


@pytest.fixture(scope="module")
def multi_big():
    return mt.sample_curriculum("Multi12All", 6000, np.random.default_rng(0))


def _check_consistent(data):
    x, y = data.x.numpy(), data.y.numpy()
    stim = x[:, :12].reshape(-1, 4, 3)
    assert (stim.sum(2) == 1).all()  # each dimension one-hot → 4 stimulus ones
    assert (stim.argmax(2) == data.features).all()
    assert (x[:, 12:].astype(bool) == data.tasks).all()
    assert (data.tasks.sum(1) == data.n_tasks).all()
    for e in range(len(data)):
        task_set = tuple(np.flatnonzero(data.tasks[e]))
        assert mt.is_legal(task_set)
        expected = np.zeros(9)
        for t in task_set:  # target: read dimension's one-hot on the written group
            expected[3 * mt.task_group(t) + data.features[e, mt.task_dim(t)]] = 1
        assert (y[e] == expected).all()


def test_multi12all_sets_legal_reachable_and_frequencies(multi_big):
    _check_consistent(multi_big)
    seen = {tuple(np.flatnonzero(r)) for r in multi_big.tasks}
    assert len(seen) == 72
    n = len(multi_big)
    for size, p in mt.CURRICULA["Multi12All"].items():
        freq = (multi_big.n_tasks == size).mean()
        assert abs(freq - p) < 4 * np.sqrt(p * (1 - p) / n)
    # uniform within size: every size-3 set appears close to its share
    counts = np.array(
        [
            sum(tuple(np.flatnonzero(r)) == s for r in multi_big.tasks[multi_big.n_tasks == 3])
            for s in mt.legal_task_sets(3)
        ]
    )
    expected = (multi_big.n_tasks == 3).sum() / 24
    assert np.abs(counts - expected).max() < 5 * np.sqrt(expected)


def test_single12all_split():
    train, test = mt.make_split("Single12All", seed=11)
    assert len(train) == len(test) == 500
    for d in (train, test):
        _check_consistent(d)
        assert (d.n_tasks == 1).all()
        assert d.x.dtype == torch.float32 and d.x.shape == (500, 24) and d.y.shape == (500, 9)
        assert (d.y.sum(1) == 1).all()
    assert len(np.unique(train.tasks.argmax(1))) == 12
    again, _ = mt.make_split("Single12All", seed=11)
    assert torch.equal(again.x, train.x)
    other, _ = mt.make_split("Single12All", seed=12)
    assert not torch.equal(other.x, train.x)


def test_grouping_labels():
    train, _ = mt.make_split("Single12All", seed=5, n_train=200, n_test=1)
    lab = mt.grouping_labels(train)
    task = train.tasks.argmax(1)
    assert (lab["task"] == task).all()
    dim = task // 3
    f = train.features[np.arange(200), dim]
    assert (lab["input"] == 3 * dim + f).all()
    assert (train.x.numpy()[np.arange(200), lab["input"]] == 1).all()  # the unit the task reads
    assert (lab["task_x_input"] == 3 * task + f).all() and lab["task_x_input"].max() < 36
    assert (train.y.numpy().argmax(1) == lab["output"]).all()
    multi, _ = mt.make_split("Multi12All", seed=5, n_train=200, n_test=1)
    ml = mt.grouping_labels(multi)
    assert ((ml["task"] == -1) == (multi.n_tasks > 1)).all()


def test_paired_inits_and_network():
    std, large = mt.paired_inits(seed=3)
    again, _ = mt.paired_inits(seed=3)
    assert torch.equal(std.W1, again.W1)
    assert torch.equal(large.W1, 10 * std.W1) and torch.equal(large.W2, 10 * std.W2)
    assert std.W1.abs().max() <= 0.1 and std.W1.abs().max() > 0.09
    assert std.W1.shape == (200, 24) and std.W2.shape == (9, 212)
    assert [n for n, _ in std.named_parameters()] == ["W1", "W2"]
    x = mt.encode([0, 1, 2, 0], (5,))[0]
    out = std(torch.from_numpy(x)[None])
    assert out.shape == (1, 9) and ((out > 0) & (out < 1)).all()
    # task units reach the outputs directly: W2's last 12 columns act on the cue
    z_task = torch.zeros(212)
    z_task[200 + 5] = 1
    h = std.hidden(torch.from_numpy(x)[None])[0]
    manual = torch.sigmoid(std.W2 @ torch.cat([h, torch.from_numpy(x[12:])]) - 2)
    assert torch.allclose(out[0], manual)


def test_biases_stay_at_minus_two_after_training():
    std, large = mt.paired_inits(seed=4, n_hidden=32)
    train, _ = mt.make_split("Single12All", seed=4, n_train=100, n_test=1)
    for net, lr in ((std, 0.03), (large, 0.01)):
        w0 = net.W1.detach().clone()
        loss = train_gd(net, train.x, train.y, lr, steps=30)
        assert loss[-1] < loss[0]
        assert not torch.equal(net.W1, w0)
        assert (net.b1 == -2).all() and (net.b2 == -2).all()
        assert float(mt.sse(net(train.x), train.y).detach()) == pytest.approx(loss[-1], rel=0.05)
