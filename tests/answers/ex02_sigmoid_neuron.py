"""Exercise 2, a sigmoid neuron: tests test_sigmoid (2), test_sigmoid_stable (bonus, 1), test_prediction (2),
test_error (2), test_gradient (3), test_numeric (2), test_rate (1).

Later parts call the learner's own functions: make_prediction (parts 4-6), squared_error (part 5),
squared_error_derivative (part 4, and part 6 through gradient_step).
"""

# ruff: noqa: E501 (answers are notebook code quoted whole: long lines are kept as a learner writes them)

from answers import valid, wrong

NAIVE = "return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))"
SOLUTION = "return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=float)))"

CASES = [
    # ---- wrong ------------------------------------------------------------------------------------------------
    wrong("sigmoid_math_exp", {"sigmoid_answer": [(SOLUTION, "return 1 / (1 + math.exp(-z))"),
                                                  ('    """Return 1 / (1 + e^(-z))', '    import math\n    """Return 1 / (1 + e^(-z))')]},
          {"test_sigmoid": 0, "test_sigmoid_stable": 0},
          "math.exp takes single numbers only: arrays fail (the later parts pass single numbers)"),
    wrong("sigmoid_errstate", {"sigmoid_answer": [(SOLUTION, "with np.errstate(over='ignore'):\n        " + NAIVE)]},
          {"test_sigmoid_stable": 0},
          "the overflow silenced, not avoided: sigmoid(-720) is 0 instead of 2e-313 (no bonus)"),
    wrong("sigmoid_expit", {"sigmoid_answer": [(SOLUTION, "from scipy.special import expit\n    return expit(z)")]},
          {"test_sigmoid_stable": 0},
          "scipy's expit is right in part 1 but returns 0 for sigmoid(-720): no bonus"),
    wrong("prediction_no_bias", {"prediction_answer": [("np.dot(input_vector, weights) + bias", "np.dot(input_vector, weights)")]},
          {"test_prediction": 0, "test_gradient": 0, "test_numeric": 0},
          "missing bias: parts 4 and 5 use make_prediction, and their hidden tests have a bias"),
    wrong("derivative_wrong_sign", {"error_answer": [("return 2 * (prediction - target)", "return 2 * (target - prediction)")]},
          {"test_error": 0, "test_gradient": 0, "test_rate": 0},
          "wrong sign of the derivative: the gradient step (part 4) climbs, and part 6's step makes it worse"),
    wrong("derivative_answer_key", {"error_answer": [
        ("return 2 * (prediction - target)", "return nnlib.losses.squared_error_gradient(target, prediction)")]},
          {"test_error": 0, "test_gradient": 0, "test_rate": 0},
          "the answer key (right numbers for one example); gradient_step and part 6 call it too"),
    wrong("gradient_without_slope", {"gradient_answer": [
        ("derror_dprediction * dprediction_dz * np.asarray", "derror_dprediction * np.asarray")]},
          {"test_gradient": 0},
          "the sigmoid's slope is left out of the chain rule (part 6 still finds a rate that works)"),
    wrong("numeric_one_sided", {"numeric_answer": [
        ("error_down = squared_error(make_prediction(input_vector, weights - nudge, bias), target)",
         "error_down = squared_error(make_prediction(input_vector, weights, bias), target)"),
        ("estimate[i] = (error_up - error_down) / (2 * h)", "estimate[i] = (error_up - error_down) / h")]},
          {"test_numeric": 0},
          "a one-sided difference instead of the centred one"),
    wrong("numeric_in_place", {"numeric_answer": [
        ("    weights = np.asarray(weights, dtype=float)\n    estimate = np.zeros_like(weights)\n"
         "    for i in range(len(weights)):\n        nudge = np.zeros_like(weights)\n        nudge[i] = h\n"
         "        error_up = squared_error(make_prediction(input_vector, weights + nudge, bias), target)\n"
         "        error_down = squared_error(make_prediction(input_vector, weights - nudge, bias), target)\n",
         "    estimate = np.zeros_like(weights)\n    for i in range(len(weights)):\n        weights[i] += h\n"
         "        error_up = squared_error(make_prediction(input_vector, weights, bias), target)\n"
         "        weights[i] -= 2 * h\n"
         "        error_down = squared_error(make_prediction(input_vector, weights, bias), target)\n")]},
          {"test_numeric": 0},
          "nudges the weights passed in, in place, and never puts them back"),
    wrong("rate_too_small", {"rate_answer": [("learning_rate = 2.0", "learning_rate = 0.5")]},
          {"test_rate": 0},
          "a rate too small to fix the prediction in one step"),
    # ---- valid ------------------------------------------------------------------------------------------------
    valid("sigmoid_split_by_sign", {"sigmoid_answer": [(SOLUTION, (
        "z = np.asarray(z, dtype=float)\n    small = np.exp(-np.abs(z))   # never overflows\n"
        "    return np.where(z >= 0, 1 / (1 + small), small / (1 + small))"))]},
          "the two equal forms by sign, each exponential of a number <= 0: stable, so the bonus too"),
    valid("prediction_matmul", {"prediction_answer": [("np.dot(input_vector, weights) + bias", "input_vector @ weights + bias")]}),
    valid("error_numpy_calls", {"error_answer": [("return (prediction - target) ** 2", "return np.square(np.subtract(prediction, target))"),
                                                ("return 2 * (prediction - target)", "return 2.0 * np.subtract(prediction, target)")]},
          "other library calls for the same formulas"),
    valid("gradient_one_line", {"gradient_answer": [
        ("gradient = derror_dprediction * dprediction_dz * np.asarray(input_vector, dtype=float)",
         "gradient = 2 * (prediction - target) * prediction * (1 - prediction) * np.asarray(input_vector, dtype=float)")]},
          "the chain rule's product written out, in another order"),
    valid("numeric_eye", {"numeric_answer": [
        ("        nudge = np.zeros_like(weights)\n        nudge[i] = h\n", "        nudge = h * np.eye(len(weights))[i]\n")]},
          "hint 2's np.eye instead of an array of zeros"),
    valid("rate_larger", {"rate_answer": [("learning_rate = 2.0", "learning_rate = 5.0")]}),
]

GAPS = set()
