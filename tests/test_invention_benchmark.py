"""Helpers of the invented-detail benchmark: alignment, error placement, the curve."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.invention import (
    ScoredCrop,
    area_under,
    cell_slices,
    character_cells,
    error_positions,
    errors_inside_curve,
    text_mask,
    value_at,
)
from benchmarks.ocr import levenshtein


def test_error_positions_substitution_deletion_insertion() -> None:
    assert error_positions("2.82", "2.52") == [2]  # substitution at the wrong digit
    assert error_positions("TOAL", "TOTAL") == [2]  # a deletion sits at the lost character
    assert error_positions("TOTTAL", "TOTAL") in ([1], [2], [3])  # insertion: a neighbour
    assert error_positions("XAB", "AB") == [0]  # insertion at the start: the first character
    assert error_positions("", "ABC") == [0, 1, 2]
    assert error_positions("ABC", "") == []
    assert error_positions("SAME", "SAME") == []


@pytest.mark.parametrize("seed", range(5))
def test_error_positions_count_is_the_edit_distance(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = "".join(rng.choice(list("AB1 "), size=12))
    hyp = "".join(rng.choice(list("AB1 "), size=int(rng.integers(0, 15))))
    positions = error_positions(hyp, ref)
    assert len(positions) == levenshtein(hyp, ref)
    assert all(0 <= p < len(ref) for p in positions)


def test_character_cells_split_boxes_evenly_and_normalise() -> None:
    rows = [[(0, 0, 40, 10, "ab c"), (50, 0, 70, 10, "D")], [(0, 20, 20, 30, "e  f")]]
    text, cells = character_cells(rows)
    assert text == "AB C D E F"
    assert len(cells) == len(text)
    assert cells[0] == (0.0, 0.0, 10.0, 10.0)
    assert cells[3] == (30.0, 0.0, 40.0, 10.0)  # "c": fourth slot of four
    assert cells[4] == (40.0, 0.0, 50.0, 10.0)  # space between boxes: the gap
    assert cells[5] == (50.0, 0.0, 70.0, 10.0)
    assert cells[6] == cells[5]  # space between rows: the character before it
    assert cells[9] == (15.0, 20.0, 20.0, 30.0)  # "f": last of four slots ("e", " ", " ", "f")


def test_text_mask_and_cell_slices() -> None:
    mask = text_mask([[(2, 1, 5, 3, "x")]], (6, 8))
    assert mask.sum() == 6 and mask[1:3, 2:5].all()
    assert cell_slices((2.5, 1.0, 2.6, 1.2), (6, 8)) == (slice(1, 2), slice(2, 3))
    assert cell_slices((7.5, 5.5, 9.0, 9.0), (6, 8)) == (slice(5, 6), slice(7, 8))


def test_curve_perfect_random_and_inverted_maps() -> None:
    rng = np.random.default_rng(0)
    shape = (20, 50)
    mask = np.zeros(shape, dtype=bool)
    mask[5:15, :] = True
    error_cells = [(10.0, 5.0, 15.0, 15.0)]  # 5 × 10 = 50 of 500 text pixels
    crop = ScoredCrop(mask, error_cells)
    perfect = np.zeros(shape)
    perfect[5:15, 10:15] = 1.0
    curve = errors_inside_curve([perfect], [crop])
    assert value_at(curve, 0.10) == pytest.approx(1.0)
    assert value_at(curve, 0.05) == pytest.approx(0.5)
    inverted = errors_inside_curve([1.0 - perfect], [crop])
    assert value_at(inverted, 0.5) == pytest.approx(0.0)
    assert area_under(inverted) < 0.1 < 0.5 < area_under(curve)
    noise = errors_inside_curve([rng.random(shape)], [crop])
    assert value_at(noise, 0.2) == pytest.approx(0.2, abs=0.08)
    assert area_under([1.0] * 100) == pytest.approx(1.0 - 0.005)


def test_curve_threshold_is_shared_between_crops() -> None:
    mask = np.ones((4, 4), dtype=bool)
    high, low = np.full((4, 4), 2.0), np.full((4, 4), 1.0)
    crops = [ScoredCrop(mask, [(0.0, 0.0, 4.0, 4.0)]), ScoredCrop(mask, [])]
    # Half the pooled area marked: all of the first crop, none of the second.
    assert value_at(errors_inside_curve([high, low], crops), 0.5) == pytest.approx(1.0)
    assert value_at(errors_inside_curve([low, high], crops), 0.5) == pytest.approx(0.0)
