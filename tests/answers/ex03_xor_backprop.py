"""Exercise 3 (chapter 3), backpropagation for the XOR network: tests test_example (2), test_backward (4),
test_gradcheck (3), test_train (2); the derivation of part 1 (2 points) is graded by the instructor.

Part 4's answer cell compares the learner's backward (part 3) with their centred differences, and its test checks
those errors; train (part 5) steps with the learner's backward: a wrong backward costs parts 3, 4 and 5.

In-place changes to ``params`` (arrays inside a dict, which the judge does not write back) are seen when grading
through the kernel's own arrays that the answer cells pass in: ``try_params`` (part 3), ``check_params`` (part 4)
and ``start`` (part 5), each compared by the tests with a fresh copy made in the judge.
"""

from answers import valid, wrong

AFTER_BACKWARD = {"test_backward": 0, "test_gradcheck": 0, "test_train": 0}

CASES = [
    # ---- wrong ------------------------------------------------------------------------------------------------
    wrong("example_wrong_sign", {"example_answer": [("d_z_out = y_hat_g - y_g", "d_z_out = y_g - y_hat_g")]},
          {"test_example": 0},
          "wrong sign at the output: (y - y_hat) is minus the gradient"),
    wrong("example_without_slope", {"example_answer": [
        ("d_b1 = d_a_hidden * a_hidden * (1 - a_hidden)", "d_b1 = d_a_hidden")]},
          {"test_example": 0},
          "the hidden sigmoid's slope left out on the way back to b1"),
    wrong("backward_mean_for_bias", {"backward_answer": [("db2 = dZ2.sum(axis=0)", "db2 = dZ2.mean(axis=0)")]},
          AFTER_BACKWARD,
          "the bias gradient as a mean over the examples, not a sum (the 1/n taken twice)"),
    wrong("backward_no_bias_gradient", {"backward_answer": [
        ('return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}',
         'return {"W1": dW1, "b1": np.zeros_like(params["b1"]), "W2": dW2, "b2": np.zeros_like(params["b2"])}')]},
          AFTER_BACKWARD,
          "missing bias gradients: zeros for b1 and b2 (so training never moves the biases)"),
    wrong("backward_sum_not_mean", {"backward_answer": [("dZ2 = (y_hat - y) / n", "dZ2 = y_hat - y")]},
          AFTER_BACKWARD,
          "the gradient of the summed loss, not of the mean J"),
    wrong("backward_without_slope", {"backward_answer": [("dZ1 = dA1 * A1 * (1 - A1)", "dZ1 = dA1")]},
          AFTER_BACKWARD,
          "the hidden sigmoid's slope left out"),
    wrong("backward_wrong_transpose", {"backward_answer": [("dW2 = A1.T @ dZ2", "dW2 = dZ2.T @ A1")]},
          AFTER_BACKWARD,
          "the product the wrong way round: dW2 of shape (1, d1) instead of (d1, 1)"),
    wrong("backward_wrong_axis", {"backward_answer": [("db1 = dZ1.sum(axis=0)", "db1 = dZ1.sum(axis=1)")]},
          AFTER_BACKWARD,
          "the hidden bias gradient summed over the hidden units instead of the examples"),
    wrong("backward_updates_params", {"backward_answer": [
        ('    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}',
         '    grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}\n'
         '    for name in params:\n        params[name] -= 1.0 * grads[name]   # a gradient step, in place\n'
         '    return grads')]},
          AFTER_BACKWARD,
          "in-place mutation: backward takes a gradient step on params"),
    wrong("centred_one_sided", {"gradcheck_answer": [
        ("value[index] = kept - h", "value[index] = kept"),
        ("estimate[index] = (loss_up - loss_down) / (2 * h)", "estimate[index] = (loss_up - loss_down) / h")]},
          {"test_gradcheck": 0},
          "a one-sided difference (J(p + h) - J(p)) / h instead of the centred one"),
    wrong("centred_not_put_back", {"gradcheck_answer": [("        value[index] = kept\n", "")]},
          {"test_gradcheck": 0},
          "in-place mutation: the nudged entries are never put back"),
    wrong("centred_answer_key", {"gradcheck_answer": [
        ("    value = params[name]\n", "    return nnlib.gradcheck.numerical_gradient(lambda _: loss(X, y, params), "
                                      "params[name], h)\n    value = params[name]\n")]},
          {"test_gradcheck": 0},
          "the answer key, nnlib's numerical_gradient (the grader's nnlib has a stub that raises)"),
    wrong("train_in_place", {"train_answer": [
        ("    params = {name: value.copy() for name, value in params.items()}\n", ""),
        ("params[name] = params[name] - learning_rate * grads[name]", "params[name] -= learning_rate * grads[name]")]},
          {"test_train": 0},
          "in-place mutation: trains the caller's start itself"),
    wrong("train_no_bias_step", {"train_answer": [("        for name in params:\n", "        for name in ['W1', 'W2']:\n")]},  # noqa: E501
          {"test_train": 0},
          "only the weights are stepped, the biases stay at 0"),
    wrong("train_loss_after_step", {"train_answer": [
        ("        losses.append(loss(X, y, params))\n", ""),
        ("            params[name] = params[name] - learning_rate * grads[name]\n",
         "            params[name] = params[name] - learning_rate * grads[name]\n"
         "        losses.append(loss(X, y, params))\n")]},
          {"test_train": 0},
          "off by one: records the loss after each step instead of before it"),
    # ---- valid ------------------------------------------------------------------------------------------------
    valid("example_loop", {"example_answer": [
        ("d_b1 = d_a_hidden * a_hidden * (1 - a_hidden)",
         "d_b1 = np.array([W2_g[k] * d_z_out * a_hidden[k] * (1 - a_hidden[k]) for k in range(2)])")]},
          "one hidden unit at a time, in a loop"),
    valid("example_from_z", {"example_answer": [
        ("d_b1 = d_a_hidden * a_hidden * (1 - a_hidden)",
         "d_b1 = d_a_hidden * sigmoid(z_hidden) * (1 - sigmoid(z_hidden))")]},
          "the slope computed from z again"),
    valid("backward_ones_vector", {"backward_answer": [
        ("db2 = dZ2.sum(axis=0)", "db2 = np.ones(n) @ dZ2"),
        ("db1 = dZ1.sum(axis=0)", "db1 = np.ones(n) @ dZ1"),
        ("dZ1 = dA1 * A1 * (1 - A1)", "dZ1 = dA1 * (A1 - A1 ** 2)"),
        ("n = X.shape[0]", "n = len(y)")]},
          "the bias gradients as 1^T dZ (the chapter's form), the slope written as A1 - A1^2, n from y"),
    valid("centred_on_copies", {"gradcheck_answer": [
        ("    value = params[name]\n    estimate = np.zeros(value.shape)\n    for index in np.ndindex(value.shape):\n"
         "        kept = value[index]\n        value[index] = kept + h\n        loss_up = loss(X, y, params)\n"
         "        value[index] = kept - h\n        loss_down = loss(X, y, params)\n        value[index] = kept\n",
         "    estimate = np.zeros(params[name].shape)\n    for index in np.ndindex(params[name].shape):\n"
         "        up = {key: value.copy() for key, value in params.items()}\n"
         "        down = {key: value.copy() for key, value in params.items()}\n"
         "        up[name][index] += h\n        down[name][index] -= h\n"
         "        loss_up = loss(X, y, up)\n        loss_down = loss(X, y, down)\n")]},
          "nudged copies of the parameters instead of nudging in place and putting back (hint 2)"),
    valid("train_minus_equals_on_copies", {"train_answer": [
        ("params[name] = params[name] - learning_rate * grads[name]", "params[name] -= learning_rate * grads[name]"),
        ("for iteration in range(n_iterations):", "for _ in range(n_iterations):")]},
          "-= on the copies the function made"),
]

GAPS = set()
