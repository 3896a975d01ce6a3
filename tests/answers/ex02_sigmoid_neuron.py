"""Exercise 2, training a sigmoid neuron on two losses: tests test_ce (2), test_train_ce (4), test_train_se (3),
test_compare (2); the written answer of part 5 (2 points) is graded by the instructor.

Later parts call the learner's own functions: train_cross_entropy records its losses with mean_cross_entropy (part
1), and part 4's runs (compare_answer) call train_cross_entropy and train_squared_error; its test compares those runs
with stored reference runs. So a wrong mean_cross_entropy costs parts 1, 2 and 4, a wrong train_cross_entropy parts
2 and 4, and a wrong train_squared_error parts 3 and 4 (unless its runs stay right, as with in-place mutation).
"""

# ruff: noqa: E501 (answers are notebook code quoted whole: long lines are kept as a learner writes them)

from answers import valid, wrong

CE = "return -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))"
CE_DZ = "dz = (y_hat - y) / n                # (n,): dJ/dz, one number per example"
CE_W = "w = w - learning_rate * (X.T @ dz)  # a new array: the caller's w stays as it was"
CE_B = "        b = b - learning_rate * np.sum(dz)\n"
SE_DZ = "dz = 2 * (y_hat - y) * y_hat * (1 - y_hat) / n   # (n,): the sigmoid's slope stays in"
SE_W = "        w = w - learning_rate * (X.T @ dz)\n"
AFTER_CE = {"test_ce": 0, "test_train_ce": 0, "test_compare": 0}

CASES = [
    # ---- wrong ------------------------------------------------------------------------------------------------
    wrong("ce_sum_not_mean", {"ce_answer": [(CE, "return -np.sum(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))")]},
          AFTER_CE,
          "the sum over the examples, not the mean: part 2 records it, and part 4's first loss is 4 times too large"),
    wrong("ce_wrong_sign", {"ce_answer": [(CE, "return np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))")]},
          AFTER_CE,
          "the minus sign left out: a negative loss, recorded by parts 2 and 4"),
    wrong("train_ce_sum_not_mean", {"train_ce_answer": [(CE_DZ, "dz = y_hat - y")]},
          {"test_train_ce": 0, "test_compare": 0},
          "the gradient of the summed loss (no 1/n): steps n times too long; part 4's run is not the reference run"),
    wrong("train_ce_wrong_sign", {"train_ce_answer": [(CE_DZ, "dz = (y - y_hat) / n")]},
          {"test_train_ce": 0, "test_compare": 0},
          "wrong sign of dz: every step climbs the loss"),
    wrong("train_ce_no_bias_step", {"train_ce_answer": [(CE_B, "")]},
          {"test_train_ce": 0, "test_compare": 0},
          "missing bias update: the bias stays where it started"),
    wrong("train_ce_loss_after_step", {"train_ce_answer": [
        ("        losses.append(mean_cross_entropy(y_hat, y))\n", ""),
        (CE_B, CE_B + "        losses.append(mean_cross_entropy(sigmoid(X @ w + b), y))\n")]},
          {"test_train_ce": 0, "test_compare": 0},
          "off by one: J recorded after each step instead of before it"),
    wrong("train_se_without_slope", {"train_se_answer": [(SE_DZ, "dz = 2 * (y_hat - y) / n")]},
          {"test_train_se": 0, "test_compare": 0},
          "the squared error's gradient without the sigmoid's slope y_hat (1 - y_hat)"),
    wrong("train_se_in_place", {"train_se_answer": [(SE_W, "        w -= learning_rate * (X.T @ dz)\n")]},
          {"test_train_se": 0},
          "in-place mutation of the caller's w (part 4's runs still come out right: the squared-error run is the "
          "last to use w_start)"),
    wrong("train_se_answer_key", {"train_se_answer": [
        ('    n = len(y)\n',
         '    neuron = nnlib.SigmoidNeuron(learning_rate=learning_rate, max_iter=n_iter, weights=w, bias=b).fit(X, y)\n'
         '    return neuron.weights_, neuron.bias_, list(neuron.loss_curve_)\n    n = len(y)\n')]},
          {"test_train_se": 0, "test_compare": 0},
          "the answer key, nnlib.SigmoidNeuron (right numbers in the learner's kernel; the grader's nnlib has a stub "
          "that raises, so part 4's runs fail too)"),
    wrong("read_guessed", {"read_answer": [("right_squared_error = 3", "right_squared_error = 4")]},
          {"test_compare": 0},
          "a count guessed instead of read off the run"),
    # ---- valid ------------------------------------------------------------------------------------------------
    valid("ce_where", {"ce_answer": [(CE, "return -np.mean(np.where(y == 1, np.log(y_hat), np.log(1 - y_hat)))")]},
          "one log per example, chosen by the target (for 0/1 targets the same J)"),
    valid("train_ce_loop_over_examples", {"train_ce_answer": [
        (CE_DZ + "\n        " + CE_W + "\n" + CE_B,
         "dw, db = np.zeros(len(w)), 0.0\n"
         "        for i in range(n):               # one example at a time\n"
         "            dw = dw + (y_hat[i] - y[i]) / n * X[i]\n"
         "            db = db + (y_hat[i] - y[i]) / n\n"
         "        w = w - learning_rate * dw\n"
         "        b = b - learning_rate * db\n")]},
          "the gradient added up one example at a time, in a loop"),
    valid("train_se_copy_then_minus_equals", {"train_se_answer": [
        ("    n = len(y)\n", "    n = X.shape[0]\n    w = np.array(w, dtype=float)   # my own copy\n"),
        (SE_DZ, "dz = 2 / n * (y_hat - y) * (y_hat - y_hat ** 2)"),
        (SE_W, "        w -= learning_rate * (dz @ X)\n")]},
          "-= on a copy the function made, dz @ X for X.T @ dz, the slope as y_hat - y_hat^2, n from X"),
    valid("read_by_code", {"read_answer": [
        ("right_cross_entropy = 4", "right_cross_entropy = int(np.sum((sigmoid(X_and @ w_ce + b_ce) >= 0.5) == y_and))"),
        ("right_squared_error = 3", "right_squared_error = int(np.sum((sigmoid(X_and @ w_se + b_se) >= 0.5) == y_and))")]},
          "the counts computed from the runs instead of typed in"),
]

GAPS = set()
