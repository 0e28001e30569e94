"""Segmentation metrics of neuronet.train.metrics on hand-made masks, the
numbers worked out by hand."""
import math

import numpy as np
import pytest

from neuronet.train.metrics import confusion_matrix, iou_per_class, mean_iou, per_class_accuracy, pixel_accuracy

# truth and prediction on a 3x4 image, classes 0 (background), 1, 2
TRUTH = np.array([[0, 0, 1, 1],
                  [0, 0, 1, 1],
                  [2, 2, 2, 0]])
PRED = np.array([[0, 1, 1, 1],
                 [0, 0, 1, 0],
                 [2, 2, 0, 0]])


def test_confusion_matrix_by_hand():
    cm = confusion_matrix(PRED[None], TRUTH[None], 3)
    # rows: true class; columns: predicted
    assert cm.tolist() == [[4, 1, 0],
                           [1, 3, 0],
                           [1, 0, 2]]
    assert cm.sum() == TRUTH.size


def test_iou_by_hand():
    cm = confusion_matrix(PRED, TRUTH, 3)
    # class 0: TP 4, FP 2 (predicted 0, truly 1 and 2), FN 1 -> 4/7
    # class 1: TP 3, FP 1, FN 1 -> 3/5;  class 2: TP 2, FP 0, FN 1 -> 2/3
    np.testing.assert_allclose(iou_per_class(cm), [4 / 7, 3 / 5, 2 / 3])
    assert mean_iou(cm) == pytest.approx((4 / 7 + 3 / 5 + 2 / 3) / 3)
    assert pixel_accuracy(cm) == pytest.approx(9 / 12)
    np.testing.assert_allclose(per_class_accuracy(cm), [4 / 5, 3 / 4, 2 / 3])


def test_scores_are_argmaxed():
    """Scores (N, C, H, W) give the same matrix as their arg-max."""
    scores = np.eye(3)[PRED].transpose(2, 0, 1)[None] * 5.0
    assert (confusion_matrix(scores, TRUTH[None], 3) == confusion_matrix(PRED[None], TRUTH[None], 3)).all()


def test_perfect_and_absent_classes():
    cm = confusion_matrix(TRUTH, TRUTH, 4)          # class 3 appears nowhere
    ious = iou_per_class(cm)
    assert ious[:3].tolist() == [1.0, 1.0, 1.0] and math.isnan(ious[3])
    assert mean_iou(cm) == 1.0                      # absent classes are skipped, not counted as 0
    assert pixel_accuracy(cm) == 1.0


def test_class_predicted_but_absent_counts_as_zero():
    truth = np.zeros((2, 2), dtype=np.int64)
    pred = np.array([[0, 1], [0, 0]])
    cm = confusion_matrix(pred, truth, 2)
    np.testing.assert_allclose(iou_per_class(cm), [3 / 4, 0.0])
    assert mean_iou(cm) == pytest.approx(3 / 8)


def test_ignore_index_pixels_are_skipped():
    truth = TRUTH.copy()
    truth[0, 0] = -100
    truth[2, 3] = 255
    cm = confusion_matrix(PRED, truth, 3)
    assert cm.sum() == TRUTH.size - 2
    assert pixel_accuracy(cm) == pytest.approx(7 / 10)


def test_empty_matrix():
    cm = np.zeros((3, 3), dtype=np.int64)
    assert pixel_accuracy(cm) == 0.0
    assert mean_iou(cm) == 0.0
