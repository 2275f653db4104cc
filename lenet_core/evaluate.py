"""How good a model is: accuracy, weighted F1, the confusion matrix, the pairs it confuses
most and which samples it gets wrong. Metrics come from scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Confusion:
    true: str
    predicted: str
    count: int
    rate: float  # share of the true class's samples


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    weighted_f1: float
    confusion: np.ndarray  # K×K counts, rows = true class
    classes: tuple[str, ...]
    worst: tuple[Confusion, ...]
    misclassified: np.ndarray  # indices into the evaluated samples
    predictions: np.ndarray
    samples: int

    def summary(self) -> dict:
        """Plain numbers for metadata, JSON output and the GUI."""
        return {
            "accuracy": round(self.accuracy, 5),
            "weighted_f1": round(self.weighted_f1, 5),
            "samples": self.samples,
            "worst_confusions": [
                {"true": c.true, "predicted": c.predicted, "count": c.count, "rate": round(c.rate, 4)} for c in self.worst
            ],
        }

    def report(self) -> str:
        lines = [f"accuracy {self.accuracy:.2%}   weighted F1 {self.weighted_f1:.4f}   ({self.samples:,} samples)"]
        if self.worst:
            lines.append("most confused (true → predicted):")
            lines += [f"  {c.true} → {c.predicted}: {c.count} ({c.rate:.1%} of {c.true})" for c in self.worst]
        return "\n".join(lines)


def evaluate(probabilities: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], worst: int = 10) -> Evaluation:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    predictions = np.asarray(probabilities).argmax(axis=1) if np.ndim(probabilities) == 2 else np.asarray(probabilities)
    labels = np.asarray(labels)
    indices = np.arange(len(classes))
    matrix = confusion_matrix(labels, predictions, labels=indices)
    off_diagonal = matrix.copy()
    np.fill_diagonal(off_diagonal, 0)
    order = np.argsort(off_diagonal, axis=None)[::-1][:worst]
    totals = matrix.sum(axis=1)
    pairs = []
    for flat in order:
        true, predicted = divmod(int(flat), len(classes))
        count = int(off_diagonal[true, predicted])
        if count == 0:
            break
        pairs.append(Confusion(classes[true], classes[predicted], count, count / max(int(totals[true]), 1)))
    return Evaluation(
        accuracy=float(accuracy_score(labels, predictions)),
        weighted_f1=float(f1_score(labels, predictions, labels=indices, average="weighted", zero_division=0)),
        confusion=matrix,
        classes=tuple(classes),
        worst=tuple(pairs),
        misclassified=np.flatnonzero(predictions != labels),
        predictions=predictions,
        samples=int(len(labels)),
    )
