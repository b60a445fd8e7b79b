"""Fitting the curator to panels (bot/training/panel/fit.py, `bot panel fit|rolling`): pooled
groups, the real titles' level and network-only features kept out of the weights, a relation the
data holds recovered, and fits tested on the next panel."""
import json
from pathlib import Path

import numpy as np
import pytest

from bot import cli
from bot.curation.curator import Curator
from bot.training.panel import fit as panel_fit


def _panel(folder: Path, items: list[tuple[str, str, dict, list[int]]]) -> Path:
    """A panel folder: key, one ratings file per rater, features-all.jsonl."""
    folder.mkdir()
    ids = [f"i{k:03d}" for k in range(len(items))]
    (folder / "key.tsv").write_text("id\tgroup\ttext\n" + "".join(f"{i}\t{g}\t{t}\n" for i, (g, t, _, _) in zip(ids, items)))
    for r in range(len(items[0][3])):
        (folder / f"ratings-r{r}.tsv").write_text(
            "id\tscore\tboth\tsalad\n" + "".join(f"{i}\t{s[r]}\ty\tn\n" for i, (_, _, _, s) in zip(ids, items)))
    (folder / "features-all.jsonl").write_text("".join(
        json.dumps({"text": t, "group": g, "features": f}) + "\n" for g, t, f, _ in items))
    return folder


def test_rows_pool_groups_and_keep_network_only_features_out_of_the_real_titles(tmp_path):
    folder = _panel(tmp_path / "p", [
        ("bot", "A", {"song_fluency": -1.0, "rhyme": 1.0}, [2, 4]),
        ("bot", "B", {"song_fluency": -2.0, "rhyme": 0.0}, [1, 1]),
        ("baseline", "C", {"song_fluency": -9.0, "rhyme": 0.0}, [5, 4]),
    ])
    rows = panel_fit.rated_rows([folder], None)
    assert rows.groups == ["bot", "bot", "baseline"] and rows.texts == ["A", "B", "C"]
    assert list(rows.scores) == [3.0, 1.0, 4.5]
    assert rows.features[2]["song_fluency"] == -1.5  # the network items' mean, not the real title's -9
    assert [r[panel_fit.LEVEL] for r in rows.features] == [0.0, 0.0, 1.0]
    assert panel_fit.rated_rows([folder], {"bot"}).groups == ["bot", "bot"]


def _linear_items(seed: int, n: int = 60, rhyme_weight: float = 1.0):
    rng = np.random.default_rng(seed)
    items = []
    for k in range(n):
        real = k % 3 == 0
        rhyme, words = float(rng.integers(0, 2)), float(rng.integers(2, 8))
        score = 1.5 + rhyme_weight * rhyme + 0.25 * words + (1.0 if real else 0.0)
        s = int(round(min(5, max(1, score))))
        items.append(("baseline" if real else "bot", f"T{seed}-{k}", {"rhyme": rhyme, "words": words,
                                                                     "song_fluency": -1.0 - rng.random()}, [s, s]))
    return items


def test_fit_recovers_a_linear_relation_and_the_level_is_not_shipped(tmp_path):
    folder = _panel(tmp_path / "p", _linear_items(0))
    out = tmp_path / "curator.json"
    assert cli.main(["panel", "fit", str(folder), "--out", str(out), "--alpha", "1"]) == 0
    fitted = json.loads(out.read_text())
    assert panel_fit.LEVEL not in fitted["weights"]
    assert 0.6 < fitted["weights"]["rhyme"] < 1.4 and 0.15 < fitted["weights"]["words"] < 0.35
    assert fitted["notes"]["groups"] == {"baseline": 20, "bot": 40}
    assert fitted["notes"]["baseline_level"] > 0.5


def test_nothing_to_fit_is_a_one_line_refusal(tmp_path, capsys):
    same = _panel(tmp_path / "same", [("bot", f"T{k}", {"rhyme": float(k % 2)}, [3, 3]) for k in range(12)])
    out = str(tmp_path / "c.json")
    assert cli.main(["panel", "fit", str(same), "--out", out]) == 1 and not (tmp_path / "c.json").exists()
    assert "same mean rating" in capsys.readouterr().err
    rare = _panel(tmp_path / "rare", [("bot", f"T{k}", {"rhyme": float(k == 0)}, [1 + k % 5, 2]) for k in range(12)])
    assert cli.main(["panel", "fit", str(rare), "--out", out]) == 1 and "no feature is set" in capsys.readouterr().err
    (tmp_path / "bare").mkdir()
    assert cli.main(["panel", "fit", str(tmp_path / "bare"), "--out", out]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bot panel features" in err


def test_rolling_fits_on_earlier_panels_and_scores_the_next_beside_the_shipped_curator(tmp_path):
    folders = [_panel(tmp_path / f"panel-{k}", _linear_items(k)) for k in (1, 2, 3)]
    backwards = Curator({"rhyme": -1.0, "words": -0.25}, 4.0)  # ranks every panel upside down
    held = panel_fit.rolling(folders, backwards, alpha=1.0)
    assert [(h.panel, h.fitted_on) for h in held] == [("panel-2", ("panel-1",)), ("panel-3", ("panel-1", "panel-2"))]
    assert all(h.items == 40 for h in held)  # the network items only: the curator never ranks real titles
    for h in held:
        assert h.refit_rho > 0.8 and h.refit_r > 0.8 and h.shipped_rho < -0.8
        assert h.refit_ranks_better
    # a shipped curator that already ranks well is not beaten by one that learned nothing more
    assert not panel_fit.Held("p", ("q",), 10, 0.5, 0.5, 0.6, 0.6).refit_ranks_better


def test_spearman_is_the_rank_correlation():
    assert panel_fit.spearman([1, 2, 3, 4], [10, 20, 30, 400]) == pytest.approx(1.0)
    assert panel_fit.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert panel_fit.spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(np.corrcoef([1.5, 1.5, 3], [1, 2, 3])[0, 1])


def test_tune_chooses_one_weight_on_earlier_panels_and_reports_it_on_held_out_ones(tmp_path, capsys):
    """Panels where rhyme helps: a shipped curator that counts rhyme against an item is tuned
    to count it for, every other weight kept, and the held-out panels say so."""
    fit_on = [_panel(tmp_path / f"panel-{k}", _linear_items(k)) for k in (1, 2)]
    held = [_panel(tmp_path / f"panel-{k}", _linear_items(k)) for k in (3, 4)]
    shipped = Curator({"rhyme": -0.5, "words": 0.25}, 2.0, "panel-0", {"items": 9})
    tuned = panel_fit.tune(fit_on, held, shipped, "rhyme")
    assert tuned.was == -0.5 and tuned.weight == 1.0  # the grid's best: the data's own weight
    assert tuned.curator.weights == {"rhyme": 1.0, "words": 0.25} and tuned.curator.bias == 2.0
    assert tuned.fit_rho > tuned.fit_rho_shipped and tuned.test_rho > tuned.test_rho_shipped
    assert tuned.test_better == tuned.test_panels == 2
    note = tuned.curator.notes["tuned"][-1]
    assert note["feature"] == "rhyme" and note["fit_on"] == "panel-1, panel-2" and note["held_out"] == "panel-3, panel-4"
    assert tuned.curator.notes["items"] == 9 and "rhyme tuned on panel-1, panel-2" in tuned.curator.source
    # a feature no item has (a typo) is refused, not tuned to nothing
    with pytest.raises(panel_fit.PanelError, match="has the feature 'alliteration'"):
        panel_fit.tune(fit_on, [], shipped, "alliteration")

    path = tmp_path / "curator.json"
    path.write_text(shipped.to_json())
    out = tmp_path / "tuned.json"
    args = ["panel", "tune", "rhyme", "--curator", str(path), "--fit", *map(str, fit_on), "--test", *map(str, held)]
    assert cli.main(args + ["--out", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "rhyme: -0.500 -> +1.000" in shown and "held out (2 of 2 panels)" in shown and "better on 2 of 2" in shown
    assert json.loads(out.read_text())["weights"]["rhyme"] == 1.0
    # a weight that pushes every score to the top of the scale orders nothing: rho 0 on every panel
    assert panel_fit.panel_rhos(fit_on, Curator({"words": 5.0}, 2.0)) == [0.0, 0.0]
    right = Curator({"rhyme": 1.0, "words": 0.25}, 2.0)
    assert panel_fit.tune(fit_on, [], right, "words", grid=(5.0, 9.0)).weight == 0.25  # the shipped one stays
    (tmp_path / "bare").mkdir()
    assert cli.main(["panel", "tune", "rhyme", "--curator", str(path), "--fit", str(tmp_path / "bare")]) == 1
    assert "bot panel features" in capsys.readouterr().err


def test_tune_refuses_what_it_cannot_measure_in_one_line(tmp_path, capsys):
    fit_on = [_panel(tmp_path / f"panel-{k}", _linear_items(k)) for k in (1, 2)]
    path = tmp_path / "curator.json"
    path.write_text(Curator({"rhyme": -0.5}, 2.0, "panel-0").to_json())
    base = ["panel", "tune", "--curator", str(path), "--fit", *map(str, fit_on)]
    cases = {
        "every weight to try must be a finite number": ["rhyme", "--grid", "nan"],
        "no network item of panel-1, panel-2 has the feature 'Rhyme'": ["Rhyme"],
        "a panel folder is given twice": ["rhyme", "--test", str(fit_on[0])],
        f"the folder {tmp_path / 'missing'} does not exist": ["rhyme", "--out", str(tmp_path / "missing" / "c.json")],
        "it is a folder": ["rhyme", "--out", str(tmp_path)],
    }
    for said, extra in cases.items():
        assert cli.main(base[:2] + extra[:1] + base[2:] + extra[1:]) == 1, said
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and said in err, err
    assert cli.main(["panel", "tune", "rhyme", "--curator", str(tmp_path / "typo.json"), "--fit", str(fit_on[0])]) == 1
    assert "no curator file" in capsys.readouterr().err
    broken = _panel(tmp_path / "broken", _linear_items(3))
    (broken / "features-all.jsonl").write_text('{"text": "T3-0", "features": {}}\n')
    assert cli.main(["panel", "tune", "rhyme", "--curator", str(path), "--fit", str(broken)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 1 is not an item with features" in err
    bad_notes = tmp_path / "notes.json"
    bad_notes.write_text('{"weights": {}, "notes": [1, 2]}')
    assert cli.main(["panel", "tune", "rhyme", "--curator", str(bad_notes), "--fit", str(fit_on[0])]) == 1
    assert "notes is a list" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.tmp")) and not (tmp_path / "missing").exists()
