"""The run handle: poll, stop, claim, one owner per run, and the same bits as a Trainer alone."""

from __future__ import annotations

import threading

import numpy as np

from nn_core import Hyperparams, LocalBackend, Mnist, Trainer


def subset(data: Mnist, n: int) -> Mnist:
    return Mnist(data.train_images[:n], data.train_labels[:n], data.test_images[:1000], data.test_labels[:1000])


def trained_alone(data: Mnist, hparams: Hyperparams) -> Trainer:
    trainer = Trainer(data, hparams)
    while not trainer.finished:
        trainer.run(max_batches=1000)
    return trainer


def test_polls_train_to_the_end_and_the_result_is_claimed_once(mnist):
    data, hparams = subset(mnist, 3000), Hyperparams(epochs=3, seed=5)
    run = LocalBackend(data).start(hparams)
    first = run.progress()
    assert first.status == "ready" and first.total_batches_done == 0 and first.total_batches == 24 * 3
    seen = []
    while not (progress := run.poll(0.003)).finished:
        seen.append(progress.total_batches_done)
        assert run.claim() is None  # not before it has ended
    assert seen == sorted(seen) and len(seen) >= 2  # it advanced a slice per poll
    assert progress.status == "done" and len(progress.epochs) == 3 and progress.total_batches_done == 72
    result = run.claim()
    assert result is not None and run.claim() is None  # one caller records the run
    alone = trained_alone(data, hparams)
    assert np.array_equal(result.model.flat, alone.model.flat)
    assert np.array_equal(result.batch_costs, alone.batch_costs)
    assert [e.test_cost for e in result.epochs] == [e.test_cost for e in alone.epochs]


def test_stop_keeps_what_was_trained(mnist):
    run = LocalBackend(subset(mnist, 3000)).start(Hyperparams(epochs=20))
    run.poll(0.05)
    run.stop()
    progress = run.poll(1.0)  # a poll after Stop trains nothing more
    assert progress.status == "stopped" and 0 < progress.total_batches_done < progress.total_batches
    result = run.claim()
    assert result.status == "stopped" and len(result.batch_costs) == progress.total_batches_done


def test_two_threads_polling_one_run_never_step_it_together(mnist):
    # A fragment rerun and a full-page rerun of one session poll the same handle at once: the run
    # must come out exactly as if trained alone (two owners would interleave batches or skip some).
    data, hparams = subset(mnist, 4000), Hyperparams(epochs=4, seed=9)
    run = LocalBackend(data).start(hparams)
    claimed = []

    def poll_until_done():
        while not run.poll(0.02).finished:
            pass
        result = run.claim()
        if result is not None:
            claimed.append(result)

    threads = [threading.Thread(target=poll_until_done) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(claimed) == 1
    alone = trained_alone(data, hparams)
    assert np.array_equal(claimed[0].model.flat, alone.model.flat)
    assert not np.isnan(claimed[0].batch_costs).any() and len(claimed[0].batch_costs) == alone.total_batches


def test_a_run_resumed_from_its_state_after_every_chunk_is_the_same_to_the_bit(mnist):
    import pickle

    data = subset(mnist, 3000)
    for hparams, batches in ((Hyperparams(epochs=3, seed=3), 7), (Hyperparams(learning_rate=1000, epochs=2), 1),
                             (Hyperparams(epochs=2, optimizer="adam", learning_rate=0.001, layers=2), 5)):
        alone = trained_alone(data, hparams)
        state = Trainer(data, hparams).state()
        chunks = 0
        while not state.finished:  # a fresh Trainer per chunk, the state through pickle as to a worker
            trainer = Trainer.resume(data, pickle.loads(pickle.dumps(state)))
            trainer.run(max_batches=batches)
            state, chunks = trainer.state(), chunks + 1
        assert chunks > 1 and state.status == alone.status
        result = state.result()
        assert np.array_equal(result.model.flat, alone.model.flat)
        assert np.array_equal(result.batch_costs, alone.result().batch_costs)
        assert result.diverged == alone.diverged
        assert [e.test_cost for e in result.epochs] == [e.test_cost for e in alone.epochs]
        assert [e.health for e in result.epochs] == [e.health for e in alone.epochs]  # gradient norms included
