"""The default run's speed now against an earlier revision of the code, side by side in one run.

Checks out ``--before`` (a commit; default: the last one before depth, optimizers and initialisations
were added) into a temporary git worktree and times the same default run with each tree's ``Trainer``
in fresh subprocesses, interleaved (before, now, before, now ...) so load from other processes hits
both alike. Each run trains on one BLAS thread, as the app's do. Prints each tree's median training
time (gradient steps only), evaluation time, process CPU time and the ratio now / before, and checks
that both trees end with the same parameters, bit for bit.

    python -m benchmarks.against_revision --repeats 5          # from the repository's root
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "a3c78cf"  # main before issue 19 (depth, optimizers, initialisations, health)

ONE_RUN = r"""
import hashlib, json, sys, time
sys.path.insert(0, sys.argv[1])
from nn_core import Hyperparams, Trainer, load_mnist
data = load_mnist()
trainer = Trainer(data, Hyperparams())
cpu = time.process_time()
while not trainer.finished:
    trainer.run(max_batches=100)
print(json.dumps({"train": trainer.train_seconds, "eval": sum(e.eval_seconds for e in trainer.epochs),
                  "cpu": time.process_time() - cpu, "accuracy": trainer.epochs[-1].test_accuracy,
                  "params": hashlib.sha256(trainer.model.flat.tobytes()).hexdigest()}))
"""


def run(tree: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", ONE_RUN, str(tree)], capture_output=True, text=True, check=True,
                         cwd=tree)
    return json.loads(out.stdout)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help=f"the revision to compare with (default {BEFORE})")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        before = Path(folder) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(before), args.before], cwd=ROOT, check=True)
        try:
            results = {"before": [], "now": []}
            for round_ in range(args.repeats):
                for name, tree in (("before", before), ("now", ROOT)):
                    results[name].append(run(tree))
                    r = results[name][-1]
                    print(f"round {round_ + 1} {name:>6}: train {r['train']:.3f} s, eval {r['eval']:.3f} s, "
                          f"cpu {r['cpu']:.3f} s, accuracy {r['accuracy']}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, check=False)
    medians = {name: {key: statistics.median(r[key] for r in rs) for key in ("train", "eval", "cpu")}
               for name, rs in results.items()}
    for key in ("train", "eval", "cpu"):
        b, n = medians["before"][key], medians["now"][key]
        print(f"median {key:>5}: before {b:.3f} s, now {n:.3f} s, now/before {n / b:.3f}")
    same = {r["params"] for rs in results.values() for r in rs}
    print("parameters identical before and now:", len(same) == 1)
    return 0 if len(same) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
