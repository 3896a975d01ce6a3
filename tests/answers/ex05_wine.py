"""Exercise 5, the wine data: tests test_scale (3), test_train (3), test_evaluate (2), test_measure (1).

The model of part 2 is trained on the learner's scaled training set of part 1, and parts 3 and 5 use that model and
its settings. The grader refits the network itself (same settings, its own scaling), so part 2 also loses its points
when part 1 scaled wrongly, and part 5 when the model has no seed (a refit is another network).
"""

# ruff: noqa: E501 (answers are notebook code quoted whole: long lines are kept as a learner writes them)

from answers import valid, wrong

MODEL = "model = MLPClassifier(hidden_layer_sizes=(13, 13, 13), max_iter=500, random_state=0)"

CASES = [
    # ---- wrong ------------------------------------------------------------------------------------------------
    wrong("scale_fit_on_all", {"scale_answer": [("scaler = StandardScaler().fit(X_train)",
                                                 "scaler = StandardScaler().fit(np.vstack([X_train, X_test]))")]},
          {"test_scale": 0, "test_train": 0},
          "test-set use: the scaler sees the test wines, and the network of part 2 is trained on what it scaled"),
    wrong("scale_test_on_its_own", {"scale_answer": [
        ("return scaler, scaler.transform(X_train), scaler.transform(X_test)",
         "return scaler, scaler.transform(X_train), StandardScaler().fit_transform(X_test)")]},
          {"test_scale": 0},
          "the test set standardised with its own statistics"),
    wrong("train_unscaled", {"train_answer": [("model.fit(X_train_scaled, y_train)", "model.fit(X_train, y_train)")]},
          {"test_train": 0, "test_evaluate": 0},
          "trained on the raw measurements, a DataFrame: predicting on the scaled arrays of part 3 then warns that "
          "the feature names are missing, and a test that writes to stderr scores 0 (nbgrader's rule)"),
    wrong("train_on_test_too", {"train_answer": [
        ("model.fit(X_train_scaled, y_train)", "model.fit(np.vstack([X_train_scaled, X_test_scaled]), np.concatenate([y_train, y_test]))")]},
          {"test_train": 0},
          "test-set use: trained on the test wines as well"),
    wrong("train_no_seed", {"train_answer": [(MODEL, MODEL.replace(", random_state=0", ""))]},
          {"test_train": 0, "test_measure": 0},
          "no seed: another network on every run, so no refit (parts 2 and 5) gets the same weights"),
    wrong("evaluate_over_classes", {"evaluate_answer": [("accuracy = np.trace(cm) / cm.sum()", "accuracy = np.trace(cm) / len(cm)")]},
          {"test_evaluate": 0},
          "divides by the number of classes instead of the number of wines"),
    wrong("evaluate_unscaled", {"evaluate_answer": [("model.predict(X_test_scaled)", "model.predict(X_test.to_numpy())")]},
          {"test_evaluate": 0},
          "predicts on the raw test measurements"),
    wrong("measure_honest_scaling", {"measure_answer": [
        ("leaky_model = clone(model).fit(leaky_scaler.transform(X_train), y_train)",
         "leaky_model = clone(model).fit(X_train_scaled, y_train)")]},
          {"test_measure": 0},
          "the leaky network trained on the honestly scaled data: its predictions agree, its weights do not"),
    wrong("measure_other_settings", {"measure_answer": [
        ("leaky_model = clone(model).fit(", "leaky_model = MLPClassifier(random_state=0, max_iter=500).fit(")]},
          {"test_measure": 0},
          "not the model's settings"),
    # ---- valid ------------------------------------------------------------------------------------------------
    valid("scale_fit_transform", {"scale_answer": [
        ("scaler = StandardScaler().fit(X_train)\n    return scaler, scaler.transform(X_train), scaler.transform(X_test)",
         "scaler = StandardScaler()\n    X_train_scaled = scaler.fit_transform(X_train)\n"
         "    return scaler, X_train_scaled, scaler.transform(X_test)")]},
          "fit_transform on the training set"),
    valid("train_nnlib", {"train_answer": [
        (MODEL, "import nnlib\nmodel = nnlib.MLPClassifier(hidden_layer_sizes=(13,), max_iter=300, random_state=0)")]},
          "nnlib's MLPClassifier, as the text allows"),
    valid("train_nnlib_float32", {"train_answer": [
        (MODEL, "import nnlib\nmodel = nnlib.MLPClassifier(hidden_layer_sizes=(13,), max_iter=300, random_state=0, dtype='float32')")]},
          "nnlib's network in float32"),
    valid("train_other_settings", {"train_answer": [(MODEL, "model = MLPClassifier(hidden_layer_sizes=(30,), max_iter=1000, random_state=1)")]},
          "other settings chosen before looking at the test set"),
    valid("evaluate_by_hand", {"evaluate_answer": [
        ("cm = confusion_matrix(y_test, y_pred)\naccuracy = np.trace(cm) / cm.sum()",
         "cm = np.zeros((3, 3), dtype=int)\nfor true, predicted in zip(y_test, y_pred):\n    cm[true, predicted] += 1\n"
         "accuracy = np.diag(cm).sum() / len(y_test)")]},
          "the confusion matrix counted in a loop"),
]

GAPS = set()
