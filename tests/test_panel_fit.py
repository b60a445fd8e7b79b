"""Fitting the curator to panels (bench/panel_fit.py): pooled groups, the real titles' level and
network-only features kept out of the weights, a relation the data holds recovered."""
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

_BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, _BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


sys.path.insert(0, str(_BENCH))
panel_fit = _load("panel_fit")


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
    rows, y, groups = panel_fit.rated_rows([folder], None)
    assert groups == ["bot", "bot", "baseline"]
    assert list(y) == [3.0, 1.0, 4.5]
    assert rows[2]["song_fluency"] == -1.5  # the network items' mean, not the real title's -9
    assert [r[panel_fit.LEVEL] for r in rows] == [0.0, 0.0, 1.0]
    rows, y, groups = panel_fit.rated_rows([folder], {"bot"})
    assert groups == ["bot", "bot"]


def test_fit_recovers_a_linear_relation_and_the_level_is_not_shipped(tmp_path):
    rng = np.random.default_rng(0)
    items = []
    for k in range(60):
        real = k % 3 == 0
        rhyme, words = float(rng.integers(0, 2)), float(rng.integers(2, 8))
        score = 1.5 + 1.0 * rhyme + 0.25 * words + (1.0 if real else 0.0)
        s = int(round(min(5, score)))
        items.append(("baseline" if real else "bot", f"T{k}", {"rhyme": rhyme, "words": words,
                                                              "song_fluency": -1.0 - rng.random()}, [s, s]))
    folder = _panel(tmp_path / "p", items)
    out = tmp_path / "curator.json"
    sys.argv = ["panel_fit.py", str(folder), "--out", str(out), "--alpha", "1"]
    assert panel_fit.main() == 0
    fitted = json.loads(out.read_text())
    assert panel_fit.LEVEL not in fitted["weights"]
    assert 0.6 < fitted["weights"]["rhyme"] < 1.4 and 0.15 < fitted["weights"]["words"] < 0.35
    assert fitted["notes"]["groups"] == {"baseline": 20, "bot": 40}
    assert fitted["notes"]["baseline_level"] > 0.5


def test_nothing_to_fit_is_a_one_line_refusal(tmp_path, capsys):
    same = _panel(tmp_path / "same", [("bot", f"T{k}", {"rhyme": float(k % 2)}, [3, 3]) for k in range(12)])
    sys.argv = ["panel_fit.py", str(same), "--out", str(tmp_path / "c.json")]
    assert panel_fit.main() == 2 and not (tmp_path / "c.json").exists()
    assert "same mean rating" in capsys.readouterr().err
    rare = _panel(tmp_path / "rare", [("bot", f"T{k}", {"rhyme": float(k == 0)}, [1 + k % 5, 2]) for k in range(12)])
    sys.argv = ["panel_fit.py", str(rare), "--out", str(tmp_path / "c.json")]
    assert panel_fit.main() == 2 and "no feature is set" in capsys.readouterr().err
    (tmp_path / "bare").mkdir()
    sys.argv = ["panel_fit.py", str(tmp_path / "bare"), "--out", str(tmp_path / "c.json")]
    assert panel_fit.main() == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "panel_features.py" in err
