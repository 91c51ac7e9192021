"""Training speed, side by side: nn_core's loop against the post's loop, scikit-learn and PyTorch.

Every line trains the post's run (784-64-10 sigmoid, softmax, lr 4, momentum 0.9, batch 128, 9
epochs, seed 138) on the same MNIST arrays, from the same initial weights (nn_core's, drawn from the
seed) and with the same per-epoch shuffles (the permutations nn_core's Trainer draws), so lines that
do the same math should end at the same test accuracy. Repeats are interleaved (line after line,
round after round) so a burst of load from other processes hits every line alike.

Lines:
  nn_core                  Trainer as the app runs it (uint8 data, each batch gathered and cast,
                           1/255 applied after X W1; one BLAS thread, Trainer's default)
  nn_core, 2 BLAS threads  the same with two BLAS threads
  nn_core, float32 data    the same fed float32 images held in memory (issue 7: memory vs speed)
  post, faithful port      the post's loop in NumPy float64, column-major, fresh copies each epoch,
                           dicts of arrays, sigmoid recomputed in backward; its bugs fixed: the last
                           sample of each epoch is no longer dropped, softmax is shifted by the max
  scikit-learn MLP         MLPClassifier(sgd, momentum 0.9, no Nesterov, alpha 0), one partial_fit
                           per epoch on the epoch's shuffled copy. Its momentum is v = 0.9 v - lr g,
                           W += v; the post's is V = 0.9 V + 0.1 g, W -= 4 V. From V = 0 the two are
                           the same sequence when lr = 4 * (1 - 0.9) = 0.4, so lr 0.4 is used.
  torch autograd           PyTorch CPU, autograd, F.cross_entropy, optim.SGD(lr 0.4, momentum 0.9):
                           the post's update exactly (buf = g at the first step, as 0.1 g * 4 / 0.4)
  torch hand-written       PyTorch CPU, inference mode, backward written out, in-place ops,
                           _foreach momentum; float32 data in memory (also at 1 thread)
  matmuls only             the five matrix products per batch at their full shapes (784 pixels),
                           with 1 and 2 BLAS threads: the floor of a dense loop

The other libraries' lines run at their default thread counts unless ``--threads N``. On a shared
machine, two-thread lines stall whenever another process holds the other core: compare the load
average printed with each round.

Both torch lines and nn_core read each batch's cost as a Python float (the app charts it and checks
it for divergence); the post, sklearn and the floor do not. Times are training only: nn_core's
per-epoch evaluation (train + test sets) is timed separately, as is the post's ("eval / epoch" is
that time over the training time). Each line shows wall time and the process's CPU time: on a
crowded machine wall time is mostly waiting for a core, while for single-threaded lines CPU time
is the work itself (for multi-threaded lines it adds up every thread, spinning included).

    python -m benchmarks.train_speed --repeats 3          # from the repository's root
    python -m benchmarks.train_speed --repeats 3 --threads 1 --skip "2 BLAS"   # a crowded machine
    python -m benchmarks.train_speed --repeats 1 --epochs 2 --skip post scikit   # quick look

torch is optional (``pip install torch==2.13.0``; not in requirements). Exit status 1 if a line
that shares the post's math misses its test accuracy by 0.0005 or more.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from nn_core import Hyperparams, Mnist, Model, Trainer, load_mnist
from nn_core.evaluation import evaluate

ACCURACY_TOLERANCE = 0.0005  # "the same accuracy to 3 decimals"


@dataclass
class Setup:
    """What every line shares: data, hyperparameters, initial weights and the shuffles."""

    data: Mnist  # uint8, as load_mnist returns it
    hp: Hyperparams
    init: Model  # float32 initial weights, as Trainer draws them from the seed
    permutations: list[np.ndarray]  # one (60000,) permutation per epoch, as Trainer draws them
    X_train: np.ndarray  # (60000, 784) float32 in [0, 1]
    X_test: np.ndarray  # (10000, 784) float32
    y_train: np.ndarray  # (60000,) int64
    y_test: np.ndarray  # (10000,) int64

    @property
    def batches(self) -> int:
        return -(-len(self.y_train) // self.hp.batch_size)


@dataclass
class Outcome:
    seconds: float  # training only, wall clock
    test_accuracy: float
    eval_seconds: float | None = None  # per-epoch evaluation of the train and test sets, all epochs
    cpu_seconds: float = float("nan")  # training only, CPU time of the whole process (all threads)


class Clock:
    """Wall and process CPU time of a stretch, minus the parts marked as evaluation.

    On a crowded machine wall time mostly measures the wait for a core; for single-threaded lines
    CPU time is the work itself, so the table shows both.
    """

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        self.eval_wall = self.eval_cpu = 0.0

    def evaluation(self, function):
        def timed(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.eval_wall += time.perf_counter() - wall
                self.eval_cpu += time.process_time() - cpu
        return timed

    def outcome(self, test_accuracy: float) -> Outcome:
        return Outcome(time.perf_counter() - self.wall - self.eval_wall, test_accuracy, self.eval_wall,
                       time.process_time() - self.cpu - self.eval_cpu)


@dataclass
class Line:
    name: str
    run: Callable[[Setup], Outcome]
    threads: str  # what it computes with, for the table
    posts_math: bool = True  # same model, update and shuffles: accuracy should agree
    outcomes: list[Outcome] = field(default_factory=list)


def make_setup(hp: Hyperparams) -> Setup:
    data = load_mnist()
    rng = np.random.default_rng(hp.seed)  # the Trainer's sequence: initial weights, then one shuffle per epoch
    init = Model.initialize(hp.hidden_units, rng, hp.activation)
    permutations = [rng.permutation(len(data.train_labels)) for _ in range(hp.epochs)]
    check = Trainer(data, hp)
    assert np.array_equal(check.model.flat, init.flat), "Trainer draws its initial weights differently"
    return Setup(data, hp, init, permutations,
                 data.train_images / np.float32(255), data.test_images / np.float32(255),
                 data.train_labels.astype(np.int64), data.test_labels.astype(np.int64))


# --- nn_core ------------------------------------------------------------------------------------

def nn_core_line(threads: int | None = None, float_data: bool = False) -> Callable[[Setup], Outcome]:
    def run(setup: Setup) -> Outcome:
        data = setup.data
        if float_data:
            data = Mnist(setup.X_train, data.train_labels, setup.X_test, data.test_labels)
        trainer = Trainer(data, setup.hp, threads=threads or 1)
        clock = Clock()
        while not trainer.finished:
            trainer.run(max_batches=trainer.batches_per_epoch)  # one epoch per call, as the CLI does
        assert trainer.status == "done", trainer.status
        # the Trainer's per-epoch evaluation is timed apart (its EpochStats), as Clock does for other lines
        clock.eval_wall = clock.eval_cpu = sum(stats.eval_seconds for stats in trainer.epochs)
        outcome = clock.outcome(trainer.epochs[-1].test_accuracy)
        outcome.seconds = trainer.train_seconds  # the Trainer's own count (Python outside run() excluded)
        return outcome
    return run


# --- the post's loop, faithfully (column-major float64) -------------------------------------------

def post_line(setup: Setup) -> Outcome:
    hp = setup.hp
    digits, m = 10, len(setup.y_train)
    # Prepared before the loop, as the post does: X (784, m) float64 / 255, Y one-hot (10, m)
    X_train = setup.data.train_images.T / 255
    X_test = setup.data.test_images.T / 255
    Y_train = np.eye(digits)[setup.y_train].T
    Y_test = np.eye(digits)[setup.y_test].T

    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    def compute_loss(Y, Y_hat):
        return -(1.0 / Y.shape[1]) * np.sum(np.multiply(Y, np.log(Y_hat)))

    def feed_forward(X, params):
        cache = {}
        cache["Z1"] = np.matmul(params["W1"], X) + params["b1"]
        cache["A1"] = sigmoid(cache["Z1"])
        cache["Z2"] = np.matmul(params["W2"], cache["A1"]) + params["b2"]
        shifted = np.exp(cache["Z2"] - cache["Z2"].max(axis=0))  # fix: the post's exp(Z2) can overflow
        cache["A2"] = shifted / np.sum(shifted, axis=0)
        return cache

    def back_propagate(X, Y, params, cache, m_batch):  # the post reads m_batch as a global
        dZ2 = cache["A2"] - Y
        dW2 = (1.0 / m_batch) * np.matmul(dZ2, cache["A1"].T)
        db2 = (1.0 / m_batch) * np.sum(dZ2, axis=1, keepdims=True)
        dA1 = np.matmul(params["W2"].T, dZ2)
        dZ1 = dA1 * sigmoid(cache["Z1"]) * (1 - sigmoid(cache["Z1"]))
        dW1 = (1.0 / m_batch) * np.matmul(dZ1, X.T)
        db1 = (1.0 / m_batch) * np.sum(dZ1, axis=1, keepdims=True)
        return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}

    init = setup.init  # row-major here; the post's W1 (H, 784) is W1.T
    params = {"W1": init.W1.T.astype(np.float64), "b1": init.b1.astype(np.float64)[:, None],
              "W2": init.W2.T.astype(np.float64), "b2": init.b2.astype(np.float64)[:, None]}
    V_dW1, V_db1 = np.zeros(params["W1"].shape), np.zeros(params["b1"].shape)
    V_dW2, V_db2 = np.zeros(params["W2"].shape), np.zeros(params["b2"].shape)
    beta, learning_rate, batch_size = hp.momentum, hp.learning_rate, hp.batch_size
    batches = -(-m // batch_size)
    clock = Clock()
    for i in range(hp.epochs):
        permutation = setup.permutations[i]
        X_train_shuffled = X_train[:, permutation]
        Y_train_shuffled = Y_train[:, permutation]
        for j in range(batches):
            begin = j * batch_size
            end = min(begin + batch_size, m)  # fix: the post's X_train.shape[1] - 1 dropped the last sample
            X = X_train_shuffled[:, begin:end]
            Y = Y_train_shuffled[:, begin:end]
            m_batch = end - begin
            cache = feed_forward(X, params)
            grads = back_propagate(X, Y, params, cache, m_batch)
            V_dW1 = (beta * V_dW1 + (1. - beta) * grads["dW1"])
            V_db1 = (beta * V_db1 + (1. - beta) * grads["db1"])
            V_dW2 = (beta * V_dW2 + (1. - beta) * grads["dW2"])
            V_db2 = (beta * V_db2 + (1. - beta) * grads["db2"])
            params["W1"] = params["W1"] - learning_rate * V_dW1
            params["b1"] = params["b1"] - learning_rate * V_db1
            params["W2"] = params["W2"] - learning_rate * V_dW2
            params["b2"] = params["b2"] - learning_rate * V_db2
        cache = clock.evaluation(post_evaluation)(feed_forward, compute_loss, params, X_train, Y_train, X_test, Y_test)
    return clock.outcome(float(np.mean(np.argmax(cache["A2"], axis=0) == setup.y_test)))


def post_evaluation(feed_forward, compute_loss, params, X_train, Y_train, X_test, Y_test):
    """The post's end of epoch: costs of the whole train and test sets."""
    compute_loss(Y_train, feed_forward(X_train, params)["A2"])
    cache = feed_forward(X_test, params)
    compute_loss(Y_test, cache["A2"])
    return cache


# --- scikit-learn -------------------------------------------------------------------------------

def sklearn_line(setup: Setup) -> Outcome:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    hp = setup.hp
    clf = MLPClassifier(hidden_layer_sizes=(hp.hidden_units,), activation="logistic", solver="sgd", alpha=0.0,
                        batch_size=hp.batch_size, learning_rate="constant",
                        learning_rate_init=hp.learning_rate * (1 - hp.momentum),  # = the post's update
                        momentum=hp.momentum, nesterovs_momentum=False, shuffle=False, random_state=hp.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", "Got `batch_size`")  # the one-sample call below
        # sklearn draws its own (Glorot) weights on the first partial_fit: after a one-sample call, write
        # our weights into its arrays in place (its optimizer holds references to them) and zero the
        # velocities that call left.
        clf.partial_fit(setup.X_train[:1], setup.y_train[:1], classes=np.arange(10))
        for mine, theirs in zip((setup.init.W1, setup.init.W2, setup.init.b1, setup.init.b2),
                                clf.coefs_ + clf.intercepts_):
            theirs[...] = mine
        for velocity in clf._optimizer.velocities:
            velocity[...] = 0
        clock = Clock()
        for permutation in setup.permutations:
            clf.partial_fit(setup.X_train[permutation], setup.y_train[permutation])  # the epoch's shuffle
        outcome = clock.outcome(float("nan"))
    outcome.test_accuracy = float(np.mean(clf.predict(setup.X_test) == setup.y_test))
    outcome.eval_seconds = None
    return outcome


# --- PyTorch --------------------------------------------------------------------------------------

def torch_line(threads: int, autograd: bool) -> Callable[[Setup], Outcome]:
    def run(setup: Setup) -> Outcome:
        import torch
        import torch.nn.functional as F

        saved = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return (_torch_autograd if autograd else _torch_by_hand)(setup, torch, F)
        finally:
            torch.set_num_threads(saved)
    return run


def _torch_tensors(setup, torch):
    X = torch.from_numpy(setup.X_train)  # (60000, 784) float32, shared with NumPy
    y = torch.from_numpy(setup.y_train)
    perms = [torch.from_numpy(p) for p in setup.permutations]
    params = [torch.from_numpy(a.copy()) for a in (setup.init.W1, setup.init.b1, setup.init.W2, setup.init.b2)]
    return X, y, perms, params


def _torch_test_accuracy(setup, torch, params) -> float:
    W1, b1, W2, b2 = params
    with torch.inference_mode():
        X = torch.from_numpy(setup.X_test)
        logits = torch.addmm(b2, torch.sigmoid(torch.addmm(b1, X, W1)), W2)
        return float((logits.argmax(1).numpy() == setup.y_test).mean())


def _torch_autograd(setup, torch, F) -> Outcome:
    hp = setup.hp
    X, y, perms, params = _torch_tensors(setup, torch)
    for p in params:
        p.requires_grad_(True)
    W1, b1, W2, b2 = params
    # SGD(momentum=beta, lr=lr*(1-beta)) with its first buffer = g is the post's V = beta V + (1-beta) g, W -= lr V
    optimizer = torch.optim.SGD(params, lr=hp.learning_rate * (1 - hp.momentum), momentum=hp.momentum)
    B = hp.batch_size
    clock = Clock()
    for perm in perms:
        for begin in range(0, len(perm), B):
            index = perm[begin : begin + B]
            xb, yb = X.index_select(0, index), y.index_select(0, index)
            loss = F.cross_entropy(torch.addmm(b2, torch.sigmoid(torch.addmm(b1, xb, W1)), W2), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss.item()  # the batch cost as a float, as nn_core keeps it
    outcome = clock.outcome(float("nan"))
    outcome.test_accuracy, outcome.eval_seconds = _torch_test_accuracy(setup, torch, [p.detach() for p in params]), None
    return outcome


def _torch_by_hand(setup, torch, F) -> Outcome:
    hp = setup.hp
    X, y, perms, params = _torch_tensors(setup, torch)
    W1, b1, W2, b2 = params
    velocities = [torch.zeros_like(p) for p in params]
    eye = torch.eye(10)
    B, beta, lr = hp.batch_size, hp.momentum, hp.learning_rate
    clock = Clock()
    with torch.inference_mode():
        for perm in perms:
            for begin in range(0, len(perm), B):
                index = perm[begin : begin + B]
                xb, yb = X.index_select(0, index), y.index_select(0, index)  # (m, 784), (m,)
                m = len(index)
                a1 = torch.addmm(b1, xb, W1).sigmoid_()  # (m, H)
                logp = torch.log_softmax(torch.addmm(b2, a1, W2), 1)  # (m, 10)
                cost = F.nll_loss(logp, yb).item()  # noqa: F841 (kept per batch, as nn_core does)
                dz2 = logp.exp_().sub_(eye.index_select(0, yb)).div_(m)  # (softmax - onehot) / m
                grads = [None, None, a1.t().mm(dz2), dz2.sum(0)]
                dz1 = dz2.mm(W2.t()).mul_(a1).mul_(1 - a1)  # sigma' from the cached activation
                grads[0], grads[1] = xb.t().mm(dz1), dz1.sum(0)
                torch._foreach_mul_(velocities, beta)  # V = beta V + (1 - beta) g; W -= lr V
                torch._foreach_add_(velocities, grads, alpha=1 - beta)
                torch._foreach_add_(params, velocities, alpha=-lr)
    outcome = clock.outcome(float("nan"))
    outcome.test_accuracy, outcome.eval_seconds = _torch_test_accuracy(setup, torch, params), None
    return outcome


# --- the floor: five matrix products per batch ---------------------------------------------------

def matmul_line(threads: int) -> Callable[[Setup], Outcome]:
    def run(setup: Setup) -> Outcome:
        H, B = setup.hp.hidden_units, setup.hp.batch_size
        rng = np.random.default_rng(0)
        X = setup.X_train[:B].copy()
        W1, W2 = setup.init.W1.copy(), setup.init.W2.copy()
        A1, dZ1 = rng.random((B, H), np.float32), rng.random((B, H), np.float32)
        Z2 = rng.random((B, 10), np.float32)
        gW1, gW2 = np.empty_like(W1), np.empty_like(W2)
        with threadpool_limits(threads, user_api="blas"):
            clock = Clock()
            for _ in range(setup.batches * setup.hp.epochs):
                np.matmul(X, W1, out=A1)
                np.matmul(A1, W2, out=Z2)
                np.matmul(A1.T, Z2, out=gW2)
                np.matmul(Z2, W2.T, out=dZ1)
                np.matmul(X.T, dZ1, out=gW1)
            outcome = clock.outcome(float("nan"))
        outcome.eval_seconds = None
        return outcome
    return run


# --- evaluation chunk size and data formats (issue 7) ---------------------------------------------

def eval_chunks(setup: Setup, repeats: int) -> None:
    model = setup.init.copy()
    print("\nEvaluation of the train + test sets (70,000 images), by chunk size, uint8 data, "
          f"1 BLAS thread, median of {repeats}:")
    for chunk in (1024, 2048, 4096, 8192):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            evaluate(model, setup.data.train_images, setup.data.train_labels, chunk)
            evaluate(model, setup.data.test_images, setup.data.test_labels, chunk)
            times.append(time.perf_counter() - start)
        print(f"  chunk {chunk:5d}: {statistics.median(times) * 1000:6.1f} ms")


def memory_note(setup: Setup) -> None:
    d = setup.data
    uint8 = d.train_images.nbytes + d.test_images.nbytes
    float32 = setup.X_train.nbytes + setup.X_test.nbytes
    hp = setup.hp
    per_run_uint8 = hp.batch_size * 784 * (1 + 4)  # gathered uint8 batch + float32 batch
    print(f"\nMemory (issue 7): images as uint8 {uint8 / 1e6:.1f} MB, as float32 {float32 / 1e6:.1f} MB "
          f"(+{(float32 - uint8) / 1e6:.1f} MB, shared once per server either way); per run, uint8 data adds a "
          f"{hp.batch_size}-row uint8 batch buffer ({hp.batch_size * 784 / 1e3:.0f} kB) beside the float32 one "
          f"({hp.batch_size * 784 * 4 / 1e3:.0f} kB): {per_run_uint8 / 1e3:.0f} kB in all.")


def with_blas(run: Callable[[Setup], Outcome], threads: int | None) -> Callable[[Setup], Outcome]:
    if threads is None:
        return run

    def limited(setup: Setup) -> Outcome:
        with threadpool_limits(threads, user_api="blas"):
            return run(setup)
    return limited


# --- the table ------------------------------------------------------------------------------------

def report(lines: list[Line], epochs: int) -> bool:
    ref = next(line for line in lines if line.name == "nn_core")
    ref_median = statistics.median(o.seconds for o in ref.outcomes)
    post = next((line for line in lines if line.name.startswith("post")), None)
    target = statistics.median(o.test_accuracy for o in (post or ref).outcomes)
    cpu_ref = statistics.median(o.cpu_seconds for o in ref.outcomes)
    print("\n| line | threads | wall min s | wall median s | s/epoch | x nn_core | CPU median s | CPU x nn_core "
          "| test acc | eval / epoch |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    ok = True
    for line in lines:
        seconds = [o.seconds for o in line.outcomes]
        median = statistics.median(seconds)
        cpu = statistics.median(o.cpu_seconds for o in line.outcomes)
        accuracies = {round(o.test_accuracy, 4) for o in line.outcomes}
        accuracy = "-" if np.isnan(line.outcomes[0].test_accuracy) else " ".join(f"{a:.4f}" for a in sorted(accuracies))
        evals = [o.eval_seconds / o.seconds for o in line.outcomes if o.eval_seconds is not None]
        eval_share = f"{statistics.median(evals):.0%}" if evals else "-"
        print(f"| {line.name} | {line.threads} | {min(seconds):.2f} | {median:.2f} | {median / epochs:.3f} | "
              f"{median / ref_median:.2f} | {cpu:.2f} | {cpu / cpu_ref:.2f} | {accuracy} | {eval_share} |")
    print(f"\nAccuracy check against {'the post port' if post else 'nn_core'} ({target:.4f}); "
          f"lines sharing the post's math must agree to 3 decimals (|diff| < {ACCURACY_TOLERANCE}):")
    for line in lines:
        if not line.posts_math:
            continue
        worst = max(abs(o.test_accuracy - target) for o in line.outcomes)
        same = worst < ACCURACY_TOLERANCE
        ok &= same
        print(f"  {'ok  ' if same else 'DIFF'} {line.name}: |diff| {worst:.4f}")
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=Hyperparams().epochs)
    parser.add_argument("--skip", nargs="*", default=[], metavar="WORDS",
                        help="skip lines whose name contains any of these (e.g. post scikit torch '2 BLAS')")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS / torch threads for the other libraries' lines (default: their own default)")
    args = parser.parse_args(argv)
    hp = Hyperparams(epochs=args.epochs)
    setup = make_setup(hp)

    others = args.threads  # BLAS / torch threads for the lines that are not nn_core (None: library default)
    blas_others = f"BLAS {others}" if others else "BLAS default"
    lines = [
        Line("nn_core", nn_core_line(), "BLAS 1"),
        Line("nn_core, 2 BLAS threads", nn_core_line(threads=2), "BLAS 2"),
        Line("nn_core, float32 data", nn_core_line(float_data=True), "BLAS 1"),
        Line("post, faithful port (float64)", with_blas(post_line, others), blas_others),
        Line("scikit-learn MLP (lr 0.4)", with_blas(sklearn_line, others), blas_others),
    ]
    try:
        import torch

        threads = others or torch.get_num_threads()
        lines += [
            Line("torch autograd", torch_line(threads, autograd=True), f"torch {threads}"),
            Line("torch hand-written", torch_line(threads, autograd=False), f"torch {threads}"),
        ]
        if threads != 1:
            lines.append(Line("torch hand-written, 1 thread", torch_line(1, autograd=False), "torch 1"))
    except ImportError:
        print("torch is not importable: its lines are skipped (pip install torch==2.13.0)")
    lines += [Line("matmuls only (5 per batch)", matmul_line(1), "BLAS 1", posts_math=False),
              Line("matmuls only, 2 BLAS threads", matmul_line(2), "BLAS 2", posts_math=False)]
    lines = [line for line in lines if line.name == "nn_core" or not any(w in line.name for w in args.skip)]

    blas = ", ".join(f"{i['internal_api']} {i['version']} ({i['num_threads']} threads)" for i in threadpool_info()
                     if i["user_api"] == "blas")
    print(f"python -m benchmarks.train_speed {shlex.join(argv if argv is not None else sys.argv[1:])}")
    print(f"{hp.epochs} epochs x {setup.batches} batches, {args.repeats} interleaved repeats; BLAS: {blas}")
    warm = Setup(setup.data, Hyperparams(epochs=1), setup.init, setup.permutations[:1], setup.X_train,
                 setup.X_test, setup.y_train, setup.y_test)
    for line in lines:  # warm-up: first-call costs (library loading, thread pools) stay out of the table
        if "post" not in line.name:
            line.run(warm)
    for repeat in range(args.repeats):
        print(f"round {repeat + 1}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
        for line in lines:
            outcome = line.run(setup)
            line.outcomes.append(outcome)
            print(f"  round {repeat + 1}: {line.name}: {outcome.seconds:.2f} s wall, {outcome.cpu_seconds:.2f} s CPU, "
                  f"test accuracy {outcome.test_accuracy:.4f}", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    ok = report(lines, hp.epochs)
    eval_chunks(setup, args.repeats)
    memory_note(setup)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
