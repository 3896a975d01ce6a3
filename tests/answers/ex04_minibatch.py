"""Exercise 4, minibatch gradient descent: tests test_batches (3), test_schedule (1), test_train (4).

train calls the learner's minibatches and learning_rate_at: a mistake there also changes the loss curves of part 3.
"""

# ruff: noqa: E501 (answers are notebook code quoted whole: long lines are kept as a learner writes them)

from answers import valid, wrong

CASES = [
    # ---- wrong ------------------------------------------------------------------------------------------------
    wrong("batches_global_rng", {"batches_answer": [("order = rng.permutation(len(X))", "order = np.random.permutation(len(X))")]},
          {"test_batches": 0, "test_train": 0},
          "NumPy's global generator instead of the one given: batches nobody can reproduce"),
    wrong("batches_drop_last", {"batches_answer": [("range(0, len(X), batch_size)", "range(0, len(X) - batch_size + 1, batch_size)")]},
          {"test_batches": 0, "test_train": 0},
          "off by one: the last, smaller batch is dropped"),
    wrong("batches_rows_apart", {"batches_answer": [("yield X[rows], y[rows]", "yield X[rows], y[start:start + batch_size]")]},
          {"test_batches": 0, "test_train": 0},
          "the labels are not shuffled with the rows"),
    wrong("schedule_exponential", {"schedule_answer": [("initial_rate / (1.0 + decay * epoch)", "initial_rate / (1.0 + decay) ** epoch")]},
          {"test_schedule": 0, "test_train": 0},
          "another schedule than the formula (train's annealed runs change too)"),
    wrong("schedule_off_by_one", {"schedule_answer": [("initial_rate / (1.0 + decay * epoch)", "initial_rate / (1.0 + decay * (epoch + 1))")]},
          {"test_schedule": 0, "test_train": 0},
          "counts the epochs from 1"),
    wrong("train_new_generator_each_epoch", {"train_answer": [
        ("    rng = np.random.default_rng(seed)\n    losses = []\n", "    losses = []\n"),
        ("        rate = learning_rate_at(epoch, learning_rate, decay)\n",
         "        rate = learning_rate_at(epoch, learning_rate, decay)\n        rng = np.random.default_rng(seed)\n")]},
          {"test_train": 0},
          "a new generator each epoch: every epoch visits the examples in the same order"),
    wrong("train_unweighted_mean", {"train_answer": [
        ("        total = 0.0\n", "        batch_losses = []\n"),
        ("            total += J * len(y_batch)\n", "            batch_losses.append(J)\n"),
        ("        losses.append(total / len(y))\n", "        losses.append(np.mean(batch_losses))\n")]},
          {"test_train": 0},
          "the mean of the batches' losses, the last (smaller) batch counting as much as a full one"),
    wrong("train_no_annealing", {"train_answer": [("rate = learning_rate_at(epoch, learning_rate, decay)", "rate = learning_rate")]},
          {"test_train": 0},
          "ignores decay: the rate never shrinks"),
    # ---- valid ------------------------------------------------------------------------------------------------
    valid("batches_list", {"batches_answer": (
        "def minibatches(X, y, batch_size, rng):\n    order = rng.permutation(len(X))\n"
        "    return [(X[order[i:i + batch_size]], y[order[i:i + batch_size]]) for i in range(0, len(X), batch_size)]")},
          "returns a list instead of yielding"),
    valid("batches_permute_first", {"batches_answer": [
        ("    for start in range(0, len(X), batch_size):\n        rows = order[start:start + batch_size]\n        yield X[rows], y[rows]",
         "    X_shuffled, y_shuffled = X[order], y[order]\n    for start in range(0, len(X), batch_size):\n"
         "        yield X_shuffled[start:start + batch_size], y_shuffled[start:start + batch_size]")]},
          "shuffles whole copies first, then slices them in order"),
    valid("train_weighted_average", {"train_answer": [
        ("        total = 0.0\n", "        batch_losses, sizes = [], []\n"),
        ("            total += J * len(y_batch)\n", "            batch_losses.append(J)\n            sizes.append(len(y_batch))\n"),
        ("        losses.append(total / len(y))\n", "        losses.append(float(np.average(batch_losses, weights=sizes)))\n")]},
          "np.average with the batch sizes as weights"),
]

GAPS = set()
