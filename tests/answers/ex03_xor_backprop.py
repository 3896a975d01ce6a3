"""Exercise 3 (chapter 3), backpropagation for the XOR network: tests test_example (2), test_backward (4),
test_gradcheck (3), test_train (2).

Part 4's last check compares the learner's backward with their centred differences, and part 5 trains with their
backward: a wrong backward costs parts 3, 4 and 5.
"""

from answers import valid, wrong

LATER = {"test_gradcheck": 0, "test_train": 0}

JUDGE_WRITEBACK = ("the judge writes back only the arrays passed as arguments themselves, not those inside a dict such as params, so an in-place change to params is not seen when grading (the visible test sees it in the learner's kernel)")

CASES = [
    # ---- wrong ------------------------------------------------------------------------------------------------
    wrong("example_wrong_sign", {"example_answer": [("d_z_out = y_hat_g - y_g", "d_z_out = y_g - y_hat_g")]},
          {"test_example": 0},
          "wrong sign at the output node"),
    wrong("example_without_slope", {"example_answer": [("d_b1 = d_a_hidden * a_hidden * (1 - a_hidden)", "d_b1 = d_a_hidden")]},
          {"test_example": 0},
          "the hidden sigmoid's slope left out"),
    wrong("backward_mean_for_bias", {"backward_answer": [("db2 = dZ2.sum(axis=0)", "db2 = dZ2.mean(axis=0)")]},
          {"test_backward": 0, **LATER},
          "mean vs sum: the 1/n taken twice for the output bias"),
    wrong("backward_without_slope", {"backward_answer": [("dZ1 = dA1 * A1 * (1 - A1)", "dZ1 = dA1")]},
          {"test_backward": 0, **LATER},
          "the hidden sigmoid's slope left out"),
    wrong("backward_wrong_axis", {"backward_answer": [("db1 = dZ1.sum(axis=0)", "db1 = dZ1.sum(axis=1)")]},
          {"test_backward": 0, **LATER},
          "the hidden bias summed over the units instead of the examples"),
    wrong("centred_one_sided", {"gradcheck_answer": [
        ("        value[index] = kept - h\n        loss_down = loss(X, y, params)\n",
         "        value[index] = kept\n        loss_down = loss(X, y, params)\n"),
        ("estimate[index] = (loss_up - loss_down) / (2 * h)", "estimate[index] = (loss_up - loss_down) / h")]},
          {"test_gradcheck": 0},
          "a one-sided difference"),
    wrong("centred_not_put_back", {"gradcheck_answer": [
        ("        loss_down = loss(X, y, params)\n        value[index] = kept\n", "        loss_down = loss(X, y, params)\n")]},
          {"test_gradcheck": 0},
          "in-place mutation: the nudged entries are never put back"),
    wrong("centred_answer_key", {"gradcheck_answer": [
        ("    value = params[name]\n", "    return nnlib.gradcheck.numerical_gradient(lambda _: loss(X, y, params), params[name], h)\n    value = params[name]\n")]},
          {"test_gradcheck": 0},
          "the answer key"),
    wrong("train_in_place", {"train_answer": [("    params = {name: value.copy() for name, value in params.items()}\n", "")]},
          {"test_train": 0},
          "in-place mutation: trains the start itself", judge_gap=JUDGE_WRITEBACK),
    wrong("train_loss_after_step", {"train_answer": [
        ("        losses.append(loss(X, y, params))\n        grads = backward(X, y, params)\n"
         "        for name in params:\n            params[name] = params[name] - learning_rate * grads[name]\n",
         "        grads = backward(X, y, params)\n"
         "        for name in params:\n            params[name] = params[name] - learning_rate * grads[name]\n"
         "        losses.append(loss(X, y, params))\n")]},
          {"test_train": 0},
          "off by one: records the loss after each step"),
    # ---- valid ------------------------------------------------------------------------------------------------
    valid("example_from_z", {"example_answer": [
        ("d_b1 = d_a_hidden * a_hidden * (1 - a_hidden)", "d_b1 = d_a_hidden * sigmoid(z_hidden) * (1 - sigmoid(z_hidden))")]},
          "the slope computed from z again"),
    valid("backward_other_calls", {"backward_answer": [("db2 = dZ2.sum(axis=0)", "db2 = np.sum(dZ2, axis=0)"),
                                                       ("dZ1 = dA1 * A1 * (1 - A1)", "dZ1 = dA1 * (A1 - A1 ** 2)")]},
          "other library calls and another order of the same product"),
    valid("centred_on_copies", {"gradcheck_answer": [
        ("    value = params[name]\n    estimate = np.zeros(value.shape)\n    for index in np.ndindex(value.shape):\n"
         "        kept = value[index]\n        value[index] = kept + h\n        loss_up = loss(X, y, params)\n"
         "        value[index] = kept - h\n        loss_down = loss(X, y, params)\n        value[index] = kept\n",
         "    value = params[name]\n    estimate = np.zeros(value.shape)\n    for index in np.ndindex(value.shape):\n"
         "        up, down = dict(params), dict(params)\n        up[name], down[name] = value.copy(), value.copy()\n"
         "        up[name][index] += h\n        down[name][index] -= h\n"
         "        loss_up, loss_down = loss(X, y, up), loss(X, y, down)\n")]},
          "nudges copies instead of the arrays passed in (hint 2)"),
    valid("train_minus_equals_on_copies", {"train_answer": [
        ("            params[name] = params[name] - learning_rate * grads[name]", "            params[name] -= learning_rate * grads[name]")]},
          "-= on the copies"),
]

GAPS = set()
