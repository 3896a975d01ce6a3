"""Exercise 7, model selection: tests test_cv (2), test_grid (2), test_threshold (3), test_report (2).

The grid of part 2 calls the learner's cv_accuracy; parts 3 and 4 are checked against what the grader recomputes for
the learner's own setting and threshold, so a wrong choice in part 2 or 3 costs only that part.
"""

# ruff: noqa: E501 (answers are notebook code quoted whole: long lines are kept as a learner writes them)

from answers import valid, wrong

CV = "return float(cross_val_score(make_model(alpha, epochs), X_train, y_train, cv=folds).mean())"
PROBABILITY = ('cv_probability = cross_val_predict(make_model(best_alpha, best_epochs), X_train, y_train, cv=folds,\n'
               '                                   method="predict_proba")[:, 1]')
CHOICE = "best_threshold = float(THRESHOLDS[costs == costs.min()].max())"

CASES = [
    # ---- wrong ------------------------------------------------------------------------------------------------
    wrong("cv_all_data", {"cv_answer": [(CV, CV.replace("X_train, y_train", "X, y"))]},
          {"test_cv": 0, "test_grid": 0},
          "test-set use: cross-validates on all the tumours, the test set included"),
    wrong("cv_other_folds", {"cv_answer": [(CV, CV.replace("cv=folds", "cv=5"))]},
          {"test_cv": 0, "test_grid": 0},
          "5 unshuffled folds instead of the folds given"),
    wrong("cv_best_fold", {"cv_answer": [(CV, CV.replace(".mean()", ".max()"))]},
          {"test_cv": 0, "test_grid": 0},
          "the best fold's accuracy instead of the mean"),
    wrong("grid_max_of_keys", {"grid_answer": [
        ("best_alpha, best_epochs = max(cv_table, key=lambda setting: (cv_table[setting], setting[0], -setting[1]))",
         "best_alpha, best_epochs = max(cv_table)")]},
          {"test_grid": 0},
          "the largest setting, not the best score"),
    wrong("threshold_other_folds", {"threshold_answer": [(PROBABILITY, PROBABILITY.replace("cv=folds", "cv=5"))]},
          {"test_threshold": 0},
          "cross_val_predict with cv=5: other folds than part 1's, other probabilities and threshold"),
    wrong("threshold_on_test_set", {"threshold_answer": [(CHOICE, (
        "test_p = make_model(best_alpha, best_epochs).fit(X_train, y_train).predict_proba(X_test)[:, 1]\n"
        "test_costs = np.array([expected_cost(y_test, test_p, t) for t in THRESHOLDS])\n"
        "best_threshold = float(THRESHOLDS[test_costs == test_costs.min()].max())"))]},
          {"test_threshold": 0},
          "test-set use: the threshold chosen on the test set"),
    wrong("cost_not_divided", {"threshold_answer": [
        ("return float((COST_MISSED * missed + COST_FALSE_ALARM * false_alarms) / len(y_true))",
         "return float(COST_MISSED * missed + COST_FALSE_ALARM * false_alarms)")]},
          {"test_threshold": 0, "test_report": 0},
          "the total cost, not the mean per tumour (part 4's test cost uses it)"),
    wrong("report_trained_on_all", {"report_answer": [
        ("final_model = make_model(best_alpha, best_epochs).fit(X_train, y_train)",
         "final_model = make_model(best_alpha, best_epochs).fit(X, y)")]},
          {"test_report": 0},
          "test-set use: the final model is trained on the test tumours too"),
    wrong("report_default_threshold", {"report_answer": [("flagged = test_probability >= best_threshold",
                                                          "flagged = test_probability >= 0.5")]},
          {"test_report": 0},
          "counts the mistakes at 0.5 instead of the chosen threshold"),
    # ---- valid ------------------------------------------------------------------------------------------------
    valid("cv_by_hand", {"cv_answer": [(CV, (
        "scores = []\n    for fit_rows, check_rows in folds.split(X_train, y_train):\n"
        "        fitted = make_model(alpha, epochs).fit(X_train[fit_rows], y_train[fit_rows])\n"
        "        scores.append(np.mean(fitted.predict(X_train[check_rows]) == y_train[check_rows]))\n"
        "    return float(np.mean(scores))"))]},
          "the folds looped over by hand"),
    valid("grid_loops_sorted", {"grid_answer": (
        "cv_table = {}\nfor alpha in ALPHAS:\n    for epochs in EPOCHS:\n        cv_table[(alpha, epochs)] = cv_accuracy(alpha, epochs)\n"
        "top = max(cv_table.values())\n"
        "best_alpha, best_epochs = sorted((s for s in cv_table if cv_table[s] == top), key=lambda s: (-s[0], s[1]))[0]\n"
        "table = pd.Series(cv_table).unstack()\ntable.index.name, table.columns.name = \"alpha\", \"epochs\"\n"
        "print(table.round(4))\nprint(f\"chosen: alpha = {best_alpha}, {best_epochs} epochs\")")},
          "loops, and the tie rule by sorting"),
    valid("threshold_loop", {"threshold_answer": [
        ("costs = np.array([expected_cost(y_train, cv_probability, t) for t in THRESHOLDS])",
         "costs = []\nfor t in THRESHOLDS:\n    costs.append(expected_cost(y_train, cv_probability, t))\ncosts = np.array(costs)"),
        (CHOICE, "best_threshold = float(THRESHOLDS[len(costs) - 1 - np.argmin(costs[::-1])])")]},
          "a loop, and the last lowest cost found by reversing"),
    valid("report_confusion_matrix", {"report_answer": [
        ("test_missed = int(np.sum((y_test == 1) & ~flagged))\ntest_false_alarms = int(np.sum((y_test == 0) & flagged))",
         "from sklearn.metrics import confusion_matrix\n"
         "tn, fp, fn, tp = confusion_matrix(y_test, flagged.astype(int), labels=[0, 1]).ravel()\n"
         "test_missed, test_false_alarms = int(fn), int(fp)")]},
          "the counts from a confusion matrix"),
]

GAPS = set()
