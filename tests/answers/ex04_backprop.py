"""Exercise 4, the backward pass: tests test_forward (2), test_loss (1), test_backward (4), test_gradcheck (2),
test_bug (1).

gradient_check (part 4) computes its loss with the learner's forward and cross_entropy and checks their backward by
default, and part 5 runs it: mistakes there cost parts 4 and 5 too.
"""

# ruff: noqa: E501 (answers are notebook code quoted whole: long lines are kept as a learner writes them)

from answers import valid, wrong

CHECK_LATER = {"test_gradcheck": 0, "test_bug": 0}


CASES = [
    # ---- wrong ------------------------------------------------------------------------------------------------
    wrong("forward_no_output_bias", {"forward_answer": [('A1 @ params["W2"] + params["b2"]', 'A1 @ params["W2"]')]},
          {"test_forward": 0, **CHECK_LATER},
          "missing bias b2: the loss no longer depends on b2, so the gradient check sees a wrong db2"),
    wrong("loss_sum_not_mean", {"loss_answer": [("-np.mean(np.log(P[np.arange(n), y]))", "-np.sum(np.log(P[np.arange(n), y]))")]},
          {"test_loss": 0, **CHECK_LATER},
          "sum instead of mean: the gradient check differentiates n times the loss backward computes"),
    wrong("loss_answer_key", {"loss_answer": [
        ("n = P.shape[0]\n    return float(-np.mean(np.log(P[np.arange(n), y])))",
         "return nnlib.categorical_cross_entropy(np.eye(P.shape[1])[y], np.log(P))")]},
          {"test_loss": 0, **CHECK_LATER},
          "the answer key (softmax of log P is P, so the number is right); the gradient check calls it too"),
    wrong("backward_wrong_axis", {"backward_answer": [("db2 = dZ2.sum(axis=0)", "db2 = dZ2.sum(axis=1)")]},
          {"test_backward": 0, "test_gradcheck": 0},
          "the bias gradient summed over the classes instead of the examples"),
    wrong("backward_no_divide_by_n", {"backward_answer": [("dZ2 = (P - Y) / n", "dZ2 = P - Y")]},
          {"test_backward": 0, "test_gradcheck": 0},
          "the gradient of the summed loss, not of the mean"),
    wrong("backward_updates_params", {"backward_answer": [
        ('    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}',
         '    grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}\n'
         '    for name in params:\n        params[name] -= 0.1 * grads[name]   # a gradient step, in place\n'
         '    return grads')]},
          {"test_backward": 0, "test_gradcheck": 0},
          "in-place mutation: backward takes a gradient step on params (seen when grading through backward_keeps_params)"),
    wrong("gradcheck_against_own_backward", {"gradcheck_answer": [
        ("    return {name: rel_error(grads[name], numerical_gradient(loss, params[name])) for name in params}",
         "    mine = backward(params, cache, y)\n    return {name: rel_error(grads[name], mine[name]) for name in params}")]},
          {"test_gradcheck": 0, "test_bug": 0},
          "compares backward_fn with the learner's own backward instead of centred differences (errors exactly 0)"),
    wrong("bug_inverted", {"bug_answer": [("if relative > 1e-2}", "if relative < 1e-2}")]},
          {"test_bug": 0},
          "keeps the names of the right gradients"),
    # ---- valid ------------------------------------------------------------------------------------------------
    valid("backward_one_hot", {"backward_answer": [("Y = np.eye(k)[y]", "Y = nnlib.one_hot(y)")]},
          "chapter 3's one_hot (every class appears in the tests' labels)"),
    valid("backward_one_hot_classes", {"backward_answer": [("Y = np.eye(k)[y]", "Y = nnlib.one_hot(y, classes=np.arange(k))")]}),
    valid("loss_loop", {"loss_answer": [
        ("n = P.shape[0]\n    return float(-np.mean(np.log(P[np.arange(n), y])))",
         "total = 0.0\n    for row, label in zip(P, y):\n        total -= np.log(row[label])\n    return float(total / len(y))")]},
          "a loop over the examples instead of fancy indexing"),
    valid("backward_einsum", {"backward_answer": [("dW1 = X.T @ dZ1", "dW1 = np.einsum('nd,nh->dh', X, dZ1)"),
                                                  ("db2 = dZ2.sum(axis=0)", "db2 = np.sum(dZ2, axis=0)")]},
          "other library calls for the same products and sums"),
    valid("gradcheck_own_centred_differences", {"gradcheck_answer": [
        ("    return {name: rel_error(grads[name], numerical_gradient(loss, params[name])) for name in params}",
         "    errors = {}\n    for name, value in params.items():\n        numeric = np.zeros_like(value)\n"
         "        for j in np.ndindex(value.shape):\n            kept = value[j]\n            value[j] = kept + 1e-5\n"
         "            up = loss(None)\n            value[j] = kept - 1e-5\n            down = loss(None)\n"
         "            value[j] = kept\n            numeric[j] = (up - down) / 2e-5\n"
         "        errors[name] = rel_error(grads[name], numeric)\n    return errors")]},
          "centred differences written out instead of numerical_gradient"),
]

GAPS = set()
