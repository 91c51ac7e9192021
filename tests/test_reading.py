"""The overfitting lab's readings are computed from the run's own figures."""

from nn_core import EpochStats, Hyperparams
from nn_core.reading import gap_reading, noise_reading, regularisation, training_set


def epochs(train_costs, test_costs, train_accuracy=0.99, test_accuracy=0.9, true=None):
    return [EpochStats(epoch=k + 1, train_cost=a, test_cost=b, train_accuracy=train_accuracy,
                       test_accuracy=test_accuracy, train_seconds=k, epoch_seconds=1, eval_seconds=0,
                       train_accuracy_true=true)
            for k, (a, b) in enumerate(zip(train_costs, test_costs))]


def test_a_rising_test_cost_reads_as_memorising_with_the_runs_numbers():
    run = epochs([1.0, 0.5, 0.2, 0.1, 0.05, 0.02], [1.0, 0.6, 0.4, 0.45, 0.5, 0.55])
    line = gap_reading(run, Hyperparams(train_size=1000))
    assert line.startswith("Test cost has risen for 3 epochs (lowest 0.400 at epoch 3, now 0.550)")
    assert "memorising its 1,000 training images" in line


def test_close_costs_read_as_generalising():
    line = gap_reading(epochs([0.3, 0.1], [0.31, 0.11], 0.97, 0.968), Hyperparams())
    assert "close (0.100 and 0.110" in line and "all 60,000 training images" in line


def test_a_gap_without_a_rise_is_named():
    line = gap_reading(epochs([0.3, 0.05], [0.4, 0.3], 0.99, 0.92), Hyperparams(train_size=2000))
    assert line.startswith("Train and test have drifted apart: cost 0.050 against 0.300")


def test_early_stopping_names_the_kept_epoch():
    run = epochs([1.0, 0.5, 0.2, 0.1], [1.0, 0.6, 0.65, 0.7])
    line = gap_reading(run, Hyperparams(early_stop=2), best_epoch=2, stopped_early=True)
    assert "ended the run at epoch 4" in line and "epoch 2's (test cost 0.600" in line


def test_noise_and_regularisation_in_words():
    hp = Hyperparams(label_noise=0.3, l2=0.001, dropout=0.5, augment="on", early_stop=5, train_size=1000)
    assert regularisation(hp) == "L2 0.001, dropout 0.5, augmentation, early stopping (patience 5)"
    assert regularisation(Hyperparams()) == "none"
    assert "1,000 training images" in training_set(hp) and "last 200 held out" in training_set(hp)
    assert "30% of its labels" in training_set(hp)
    last = epochs([0.9], [0.4], train_accuracy=0.71, true=0.96)[-1]
    assert "reads the true digits, not the noise" in noise_reading(last, hp)
    learned = epochs([0.1], [0.9], train_accuracy=0.95, true=0.80)[-1]
    assert "learning the noise" in noise_reading(learned, hp)
    assert noise_reading(last, Hyperparams()) == ""
