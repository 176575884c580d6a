#!/usr/bin/python3
"""Fits scikit-learn's LogisticRegression on the activations Synapse saved and compares its
test accuracy with Synapse's probe, layer by layer.

    /usr/bin/python3 tests/scripts/probe_parity.py ACTIVATIONS_DIR REPORT [TOLERANCE]

Same vectors (ACTIVATIONS_DIR/layer_NN.npy), same split (train_index.npy, test_index.npy),
same standardization (StandardScaler on the training rows) and the same penalty:
Synapse minimizes mean log-loss + l2/2‖W‖² + l1‖W‖₁, which is scikit-learn's
penalty="elasticnet" with l1_ratio = l1/(l1+l2) and C = 1/(n_train·(l1+l2)).
Prints one line per layer; exit 1 when a layer differs by more than TOLERANCE (default
0.015, i.e. 1.5 points) or one test example, whichever is more: two solvers stopping at
slightly different points of the same optimum can disagree on one borderline example, and
on a 60-example split that alone is 1.7 points.
"""
import json
import os
import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


def main(acts_dir, report_path, tolerance):
    index = json.load(open(os.path.join(acts_dir, "index.json")))
    report = json.load(open(report_path))
    labels = np.load(os.path.join(acts_dir, index["labels"]["file"]))
    train = np.load(os.path.join(acts_dir, index["split"]["train"]))
    test = np.load(os.path.join(acts_dir, index["split"]["test"]))
    l1 = report["options"]["probe"]["l1"]
    l2 = report["options"]["probe"]["l2"]
    failures = 0
    for layer in index["layers"]:
        x = np.load(os.path.join(acts_dir, layer["file"])).astype(np.float64)
        assert x.shape == tuple(layer["shape"]), (x.shape, layer["shape"])
        scaler = StandardScaler().fit(x[train])
        xtr, xte = scaler.transform(x[train]), scaler.transform(x[test])
        if l1 > 0:
            clf = LogisticRegression(penalty="elasticnet", solver="saga", l1_ratio=l1 / (l1 + l2),
                                     C=1.0 / (len(train) * (l1 + l2)), max_iter=10000, tol=1e-6)
        else:
            clf = LogisticRegression(penalty="l2", solver="lbfgs", C=1.0 / (len(train) * l2), max_iter=10000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(xtr, labels[train])
        sk = float((clf.predict(xte) == labels[test]).mean())
        ours = report["layers"][layer["index"]]["probe"]["test_accuracy"]
        allowed = max(tolerance, 1.0 / len(test) + 1e-12)
        ok = abs(sk - ours) <= allowed
        failures += not ok
        print(f"layer {layer['index']}: synapse {ours:.4f} sklearn {sk:.4f} "
              f"difference {abs(sk - ours) * 100:.2f} points (allowed {allowed * 100:.2f}) {'ok' if ok else 'TOO FAR'}")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: probe_parity.py ACTIVATIONS_DIR REPORT [TOLERANCE]")
    sys.exit(main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) == 4 else 0.015))
