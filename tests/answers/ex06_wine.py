"""Exercise 6, the wine data: tests test_scale (3), test_train (3), test_evaluate (2), test_leaky (2),
test_honest (2), test_seeds (1); part 7 is a written answer, graded by the instructor.

The model of part 2 is trained on the learner's scaled training set of part 1, and part 3 uses that model. The
grader refits the network itself (same settings, its own scaling), so part 2 also loses its points when part 1
scaled wrongly. Parts 4 and 5 are functions checked on stored scores (noise of seeds 0, 11 and 12); part 6 calls both
functions, so a wrong function of part 4 or 5 also costs part 6.
"""

# ruff: noqa: E501 (answers are notebook code quoted whole: long lines are kept as a learner writes them)

from answers import valid, wrong

MODEL = "model = MLPClassifier(hidden_layer_sizes=(13, 13, 13), max_iter=500, random_state=0)"
LEAKY = ("X_kept = SelectKBest(f_classif, k=K).fit_transform(X, y)\n"
         "    return cross_val_score(LogisticRegression(), X_kept, y, cv=CV).mean()")
HONEST = ("pipeline = make_pipeline(SelectKBest(f_classif, k=K), LogisticRegression())\n"
          "    return cross_val_score(pipeline, X, y, cv=CV).mean()")
NOISE = "noise_sets = [noise_features(seed) for seed in range(5)]"

CASES = [
    # ---- wrong: parts 1-3 --------------------------------------------------------------------------------------
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
          {"test_train": 0},
          "no seed: another network on every run, so the grader's refit does not get the same weights"),
    wrong("evaluate_over_classes", {"evaluate_answer": [("accuracy = np.trace(cm) / cm.sum()", "accuracy = np.trace(cm) / len(cm)")]},
          {"test_evaluate": 0},
          "divides by the number of classes instead of the number of wines"),
    wrong("evaluate_unscaled", {"evaluate_answer": [("model.predict(X_test_scaled)", "model.predict(X_test.to_numpy())")]},
          {"test_evaluate": 0},
          "predicts on the raw test measurements"),
    # ---- wrong: part 4, the leak on purpose ----------------------------------------------------------------------
    wrong("leaky_selects_in_folds", {"leaky_answer": [(LEAKY, HONEST)]},
          {"test_leaky": 0, "test_seeds": 0},
          "the honest pipeline where the leak was asked for: no leak measured (part 6's leaky scores are honest ones)"),
    wrong("leaky_fold_scores", {"leaky_answer": [(".mean()", "")]},
          {"test_leaky": 0, "test_seeds": 0},
          "returns the five fold accuracies, not their mean"),
    wrong("leaky_unshuffled_folds", {"leaky_answer": [("cv=CV", "cv=5")]},
          {"test_leaky": 0, "test_seeds": 0},
          "cv=5: five unshuffled folds, not the seeded folds given"),
    # ---- wrong: part 5, the honest pipeline ----------------------------------------------------------------------
    wrong("honest_selection_before_pipeline", {"honest_answer": [(HONEST, (
        "X_kept = SelectKBest(f_classif, k=K).fit_transform(X, y)\n"
        "    pipeline = make_pipeline(LogisticRegression())\n"
        "    return cross_val_score(pipeline, X_kept, y, cv=CV).mean()"))]},
          {"test_honest": 0, "test_seeds": 0},
          "a pipeline, but the selection outside cross-validation, fitted on all the wines: still the leak"),
    wrong("honest_scored_on_training", {"honest_answer": [(HONEST, (
        "pipeline = make_pipeline(SelectKBest(f_classif, k=K), LogisticRegression()).fit(X, y)\n"
        "    return pipeline.score(X, y)"))]},
          {"test_honest": 0, "test_seeds": 0},
          "the pipeline outside cross-validation: fitted on all the wines and scored on them (test-set use)"),
    wrong("honest_default_k", {"honest_answer": [("SelectKBest(f_classif, k=K)", "SelectKBest(f_classif)")]},
          {"test_honest": 0, "test_seeds": 0},
          "SelectKBest's default keeps 10 columns, not K = 20: another procedure than part 4's"),
    # ---- wrong: part 6, five seeds -------------------------------------------------------------------------------
    wrong("seeds_unseeded", {"seeds_answer": [(NOISE, "noise_sets = [np.random.default_rng().standard_normal((len(y_wine), 2000)) for seed in range(5)]")]},
          {"test_seeds": 0},
          "no seed: other noise on every run, so other scores"),
    wrong("seeds_same_noise", {"seeds_answer": [(NOISE, "noise_sets = [X_noise for seed in range(5)]")]},
          {"test_seeds": 0},
          "the noise of seed 0 five times: one draw, repeated"),
    wrong("seeds_gap_of_first", {"seeds_answer": [("gap = leaky_scores.mean() - honest_scores.mean()",
                                                   "gap = leaky_scores[0] - honest_scores[0]")]},
          {"test_seeds": 0},
          "the gap of one seed, not of the five means"),
    # ---- valid ---------------------------------------------------------------------------------------------------
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
    valid("leaky_fit_then_transform", {"leaky_answer": [(LEAKY, (
        "from sklearn.model_selection import cross_validate\n"
        "    selector = SelectKBest(k=K).fit(X, y)\n"
        "    results = cross_validate(LogisticRegression(), selector.transform(X), y, cv=CV)\n"
        "    return float(results[\"test_score\"].mean())"))]},
          "fit, then transform (f_classif is SelectKBest's default), and cross_validate"),
    valid("honest_pipeline_class", {"honest_answer": [(HONEST, (
        "from sklearn.pipeline import Pipeline\n"
        "    steps = Pipeline([(\"select\", SelectKBest(f_classif, k=K)), (\"classify\", LogisticRegression())])\n"
        "    return np.mean(cross_val_score(steps, X, y, cv=CV))"))]},
          "scikit-learn's Pipeline with named steps"),
    valid("honest_folds_by_hand", {"honest_answer": [(HONEST, (
        "accuracies = []\n"
        "    for fit_rows, check_rows in CV.split(X, y):\n"
        "        selector = SelectKBest(f_classif, k=K).fit(X[fit_rows], y[fit_rows])\n"
        "        classifier = LogisticRegression().fit(selector.transform(X[fit_rows]), y[fit_rows])\n"
        "        predicted = classifier.predict(selector.transform(X[check_rows]))\n"
        "        accuracies.append(np.mean(predicted == y[check_rows]))\n"
        "    return np.mean(accuracies)"))]},
          "the folds looped over by hand, the selection fitted on the four training folds each time"),
    valid("seeds_loop", {"seeds_answer": (
        "leaky_list, honest_list = [], []\n"
        "for s in range(5):\n"
        "    X_s = noise_features(s)\n"
        "    leaky_list.append(leaky_score(X_s, y_wine))\n"
        "    honest_list.append(honest_score(X_s, y_wine))\n"
        "leaky_scores, honest_scores = np.array(leaky_list), np.array(honest_list)\n"
        "gap = np.mean(leaky_scores - honest_scores)\n"
        "for seed in range(5):\n"
        "    print(f\"noise of seed {seed}: leaky {leaky_scores[seed]:.3f}   honest {honest_scores[seed]:.3f}\")")},
          "a loop that appends, and the gap as the mean of the differences"),
]

GAPS = set()
