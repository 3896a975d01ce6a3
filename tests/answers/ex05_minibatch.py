"""Exercise 5, minibatch gradient descent: tests test_batches (3), test_schedule (1), test_train (4), test_runs (2),
test_conclusion (1).

train calls the learner's minibatches and learning_rate_at: a mistake there also changes the loss curves of part 3,
and the runs of part 4 (test_runs compares them with stored reference runs). Part 4's runs use batches of 20 and 200,
which divide the 200 examples: a mistake about the last, smaller batch leaves them unchanged. test_conclusion checks
the conclusion against the learner's own curves, then against the stored one: a mistake that moves the curves but
not the directions (measured by re-running each mistake outside the grader; over seeds 0-59 the reference directions
never changed, the smallest gap 0.019) keeps its point.
"""

# ruff: noqa: E501 (answers are notebook code quoted whole: long lines are kept as a learner writes them)

from answers import valid, wrong

CASES = [
    # ---- wrong ------------------------------------------------------------------------------------------------
    wrong("batches_global_rng", {"batches_answer": [("order = rng.permutation(len(X))", "np.random.seed(0)\n    order = np.random.permutation(len(X))")]},
          {"test_batches": 0, "test_train": 0, "test_runs": 0},
          "NumPy's global generator, seeded to make it reproducible, instead of the one given: the generator passed in "
          "is ignored and every epoch shuffles the same way (unseeded, the runs would differ on every grading: the "
          "conclusion's point would then be a coin toss, so the answers suite keeps the seeded form)"),
    wrong("batches_drop_last", {"batches_answer": [("range(0, len(X), batch_size)", "range(0, len(X) - batch_size + 1, batch_size)")]},
          {"test_batches": 0, "test_train": 0},
          "off by one: the last, smaller batch is dropped (part 4's batches divide the data: its runs are unchanged)"),
    wrong("batches_rows_apart", {"batches_answer": [("yield X[rows], y[rows]", "yield X[rows], y[start:start + batch_size]")]},
          {"test_batches": 0, "test_train": 0, "test_runs": 0},
          "the labels are not shuffled with the rows"),
    wrong("schedule_exponential", {"schedule_answer": [("initial_rate / (1.0 + decay * epoch)", "initial_rate / (1.0 + decay) ** epoch")]},
          {"test_schedule": 0, "test_train": 0, "test_runs": 0},
          "another schedule than the formula (train's annealed runs change too)"),
    wrong("schedule_off_by_one", {"schedule_answer": [("initial_rate / (1.0 + decay * epoch)", "initial_rate / (1.0 + decay * (epoch + 1))")]},
          {"test_schedule": 0, "test_train": 0, "test_runs": 0},
          "counts the epochs from 1"),
    wrong("train_new_generator_each_epoch", {"train_answer": [
        ("    rng = np.random.default_rng(seed)\n    losses = []\n", "    losses = []\n"),
        ("        rate = learning_rate_at(epoch, learning_rate, decay)\n",
         "        rate = learning_rate_at(epoch, learning_rate, decay)\n        rng = np.random.default_rng(seed)\n")]},
          {"test_train": 0, "test_runs": 0},
          "a new generator each epoch: every epoch visits the examples in the same order"),
    wrong("train_unweighted_mean", {"train_answer": [
        ("        total = 0.0\n", "        batch_losses = []\n"),
        ("            total += J * len(y_batch)\n", "            batch_losses.append(J)\n"),
        ("        losses.append(total / len(y))\n", "        losses.append(np.mean(batch_losses))\n")]},
          {"test_train": 0},
          "the mean of the batches' losses, the last (smaller) batch counting as much as a full one (part 4's batches are all full)"),
    wrong("train_no_annealing", {"train_answer": [("rate = learning_rate_at(epoch, learning_rate, decay)", "rate = learning_rate")]},
          {"test_train": 0, "test_runs": 0, "test_conclusion": 0},
          "ignores decay: the rate never shrinks (the decay run ends where the baseline does)"),
    # part 4: one setting at a time
    wrong("runs_two_changes", {"runs_answer": [('"learning_rate": {**baseline, "learning_rate": 1.0},', '"learning_rate": {**baseline, "learning_rate": 1.0, "decay": 0.05},')]},
          {"test_runs": 0},
          "two settings changed in one run (the exercise's earlier design): the difference can't be credited to either"),
    wrong("runs_seed_per_run", {"runs_answer": [
        ('"batch_size": {**baseline, "batch_size": 200},', '"batch_size": {**baseline, "batch_size": 200, "seed": 1},'),
        ('"learning_rate": {**baseline, "learning_rate": 1.0},', '"learning_rate": {**baseline, "learning_rate": 1.0, "seed": 2},'),
        ('"decay": {**baseline, "decay": 0.05},', '"decay": {**baseline, "decay": 0.05, "seed": 3},')]},
          {"test_runs": 0},
          "a different seed per run: each difference mixes the change with another shuffle (the directions survive it)"),
    wrong("runs_full_batch_more_epochs", {"runs_answer": [('"batch_size": {**baseline, "batch_size": 200},', '"batch_size": {**baseline, "batch_size": 200, "n_epochs": 500},')]},
          {"test_runs": 0, "test_conclusion": 0},
          "gives full batches ten times the epochs (the same number of updates): two changes, and then full batches end lower"),
    wrong("runs_aliased_baseline", {"runs_answer": (
        'runs = {"baseline": baseline}\n'
        'for change, value in [("batch_size", 200), ("learning_rate", 1.0), ("decay", 0.05)]:\n'
        '    settings = baseline\n'
        '    settings[change] = value\n'
        '    runs[change] = settings\n'
        'curves = {}\n'
        'for change, settings in runs.items():\n'
        '    curves[change] = train(X, y, **settings)[1]')},
          {"test_runs": 0, "test_conclusion": 0},
          "settings = baseline is no copy: every run, the baseline included, is one dict with all three changes"),
    wrong("runs_curves_of_baseline", {"runs_answer": [("curves[change] = train(X, y, **settings)[1]", "curves[change] = train(X, y, **baseline)[1]")]},
          {"test_runs": 0, "test_conclusion": 0},
          "trains the baseline under every name: the table shows no effect at all"),
    wrong("conclusion_credits_decay", {"conclusion_answer": [('"decay": "higher"}', '"decay": "lower"}')]},
          {"test_conclusion": 0},
          "credits the decay with the lower loss, as the exercise's earlier two-at-once comparison did"),
    wrong("conclusion_largest_signed", {"conclusion_answer": [('largest_effect = "batch_size"', 'largest_effect = "learning_rate"')]},
          {"test_conclusion": 0},
          "the largest drop instead of the largest change either way"),
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
    valid("runs_loop_of_copies", {"runs_answer": (
        'runs = {"baseline": baseline.copy()}\n'
        'for setting, value in [("batch_size", len(X)), ("learning_rate", 1), ("decay", 0.05)]:\n'
        '    settings = baseline.copy()\n'
        '    settings[setting] = value\n'
        '    runs[setting] = settings\n'
        'curves = {name: train(X, y, **settings)[1] for name, settings in runs.items()}')},
          "a loop over copies, batch_size=len(X) and the integer 1 for the rate, curves in a comprehension"),
    valid("runs_keyword_dicts_array_curves", {"runs_answer": (
        'runs = dict(baseline=dict(baseline), batch_size=dict(baseline, batch_size=200),\n'
        '            learning_rate=dict(baseline, learning_rate=1.0), decay=dict(baseline, decay=0.05))\n'
        'curves = {}\n'
        'for name in runs:\n'
        '    params, losses = train(X, y, **runs[name])\n'
        '    curves[name] = np.array(losses)')},
          "dict(baseline, key=value) copies, and the curves kept as NumPy arrays"),
    valid("conclusion_computed", {"conclusion_answer": (
        'last = {name: curve[-1] for name, curve in curves.items()}\n'
        'effect = {name: "higher" if last[name] > last["baseline"] else "lower" for name in ["batch_size", "learning_rate", "decay"]}\n'
        'largest_effect = max(effect, key=lambda name: abs(last[name] - last["baseline"]))')},
          "the conclusion computed from the curves instead of read off the table"),
]

GAPS = set()
