"""Exercise 1, the perceptron: tests test_step (1), test_update (3), test_train (1), test_pocket (2).

Parts 2, 3 and 5 call the learner's `step`, and parts 3 and 5 their `perceptron_update`: a wrong step or update also
costs the parts built on it.
"""

# ruff: noqa: E501 (answers are notebook code quoted whole: long lines are kept as a learner writes them)

from answers import valid, wrong

ALL_LATER = {"test_update": 0, "test_train": 0, "test_pocket": 0}

CASES = [
    # ---- wrong ------------------------------------------------------------------------------------------------
    wrong("step_strict", {"step_answer": [("np.asarray(z) >= 0", "np.asarray(z) > 0")]},
          {"test_step": 0, **ALL_LATER},
          "off by one at the boundary: z = 0 does not fire; the update's worked example (z = 0) then goes wrong too"),
    wrong("step_alias", {"step_answer": "step = nnlib.step"},
          {"test_step": 0, **ALL_LATER},
          "the answer key under its own name: the grader's nnlib has no step, and every part calls step"),
    wrong("update_in_place", {"update_answer": [
        ("new_weights = weights + learning_rate * error * np.asarray(x, dtype=float)",
         "weights += learning_rate * error * np.asarray(x, dtype=float)\n    new_weights = weights")]},
          {"test_update": 0},
          "in-place mutation of the weights passed in (the training loops use the returned arrays, so they still work)"),
    wrong("update_no_bias", {"update_answer": [("new_bias = bias + learning_rate * error", "new_bias = bias")]},
          {"test_update": 0, "test_train": 0, "test_pocket": 0},
          "missing bias update: AND and the noisy clouds need a bias, so training and the pocket fail too"),
    wrong("update_wrong_sign", {"update_answer": [("error = target - prediction", "error = prediction - target")]},
          {"test_update": 0, "test_train": 0, "test_pocket": 0},
          "wrong sign of the error: the weights move away from the target"),
    wrong("update_answer_key", {"update_answer": (
        "def perceptron_update(weights, bias, x, target, learning_rate):\n"
        "    return nnlib.perceptron.perceptron_update(weights, bias, x, target, learning_rate)")},
          {"test_update": 0, "test_train": 0, "test_pocket": 0},
          "calls the answer key through a submodule; training and the pocket call it too"),
    wrong("train_no_stop", {"train_answer": [("        if mistakes == 0:\n            break\n", "")]},
          {"test_train": 0},
          "keeps training for all 20 epochs after an epoch without mistakes"),
    wrong("train_count_after_update", {"train_answer": [
        ("            if step(np.dot(x, weights) + bias) != target:\n                mistakes += 1\n"
         "            weights, bias = perceptron_update(weights, bias, x, target, 1.0)\n",
         "            weights, bias = perceptron_update(weights, bias, x, target, 1.0)\n"
         "            if step(np.dot(x, weights) + bias) != target:\n                mistakes += 1\n")]},
          {"test_train": 0},
          "counts the mistakes after the update instead of before"),
    wrong("pocket_last_weights", {"pocket_answer": [("    return best\n", "    return weights, bias, int(np.sum(step(X @ weights + bias) != y))\n")]},
          {"test_pocket": 0},
          "returns the last epoch's weights, not the pocket's"),
    wrong("pocket_keeps_later_tie", {"pocket_answer": [("mistakes < best[2]", "mistakes <= best[2]")]},
          {"test_pocket": 0},
          "on a tie keeps the later weights (the text says the earlier ones)"),
    # ---- valid ------------------------------------------------------------------------------------------------
    valid("step_heaviside", {"step_answer": [("np.where(np.asarray(z) >= 0, 1, 0)", "np.heaviside(z, 1.0)")]},
          "another library call: floats 0.0 and 1.0 instead of integers"),
    valid("step_astype", {"step_answer": [("np.where(np.asarray(z) >= 0, 1, 0)", "(np.asarray(z) >= 0).astype(int)")]}),
    valid("update_loop", {"update_answer": [
        ("new_weights = weights + learning_rate * error * np.asarray(x, dtype=float)",
         "new_weights = np.array([w + learning_rate * error * xi for w, xi in zip(weights, x)])")]},
          "a loop over the weights instead of array arithmetic"),
    valid("train_while", {"train_answer": [
        ("    for epoch in range(max_epochs):\n        mistakes = 0\n",
         "    mistakes = None\n    while mistakes != 0 and len(errors_per_epoch) < max_epochs:\n        mistakes = 0\n"),
        ("        errors_per_epoch.append(mistakes)\n        if mistakes == 0:\n            break\n",
         "        errors_per_epoch.append(mistakes)\n")]},
          "a while loop instead of for and break"),
    valid("pocket_no_copy", {"pocket_answer": [("best = (weights.copy(), bias, mistakes)", "best = (weights, bias, mistakes)")]},
          "no copy: perceptron_update returns new arrays, so the pocket's are never changed"),
]

# Wrong answers that pass every visible test.
GAPS = set()
