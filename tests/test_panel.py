"""The blind-panel tool's pure parts (bot/training/panel, `bot panel draw|score`): baseline,
sheets, ratings, scores, agreement."""
import re
import sys
from pathlib import Path

import pytest

from bot import cli
from bot.errors import PanelError
from bot.training.panel import baseline
from bot.training.panel import sheets as panel

DATA = Path(__file__).resolve().parent.parent / "data"
SONGS = DATA / "song_titles.txt"
ARXIV = DATA / "arxiv_titles.txt"


# ---------------------------------------------------------------------------------------------- baseline

@pytest.mark.parametrize("line, expected", [
    ("Silver Lining", "Silver Lining"),
    ("'Hey Ya!'", "Hey Ya!"),
    ("U2 - With Or Without You", None),
    ("Get To Know (feat. Winston Surfshirt)", None),
    ("Best Friend feat. NERVO", None),
    ("Marry You On The Dance Floor Tonight Again", None),
    ("Issa |", None),
])
def test_clean_song(line, expected):
    assert baseline.clean_song(line) == expected


def test_paper_phrases_are_whole_contiguous_and_trimmed():
    title = "Wider or Deeper: Revisiting the ResNet Model for Visual Recognition"
    phrases = baseline.paper_phrases(title)
    assert {"Wider or Deeper", "Visual Recognition", "ResNet"} <= set(phrases)
    for p in phrases:
        assert f" {p} " in f" {title.replace(':', ' ')} "  # whole words, in order
        assert p.split()[0].lower() not in ("for", "the", "of") and p.split()[-1].lower() not in baseline.FUNCTION_WORDS
    assert baseline.paper_phrases("Bounds on $\\ell_1$ norms") == []


@pytest.mark.parametrize("seam, expected", [
    ("feat", "Utopia (feat. multi-GPU data parallelization)"),
    ("front", "multi-GPU data parallelization Utopia"),
    ("remix", "Utopia (multi-GPU data parallelization Remix)"),
    ("colon", "Utopia: multi-GPU data parallelization"),
    ("dash", "Utopia - multi-GPU data parallelization"),
])
def test_join_at_each_seam(seam, expected):
    assert baseline.join("Utopia", "multi-GPU data parallelization", seam) == expected


def test_baseline_halves_are_a_whole_real_song_and_a_whole_real_paper_phrase():
    songs, titles = baseline.load_baseline_sources(SONGS, ARXIV)
    real_songs = set(SONGS.read_text(encoding="utf-8").splitlines())
    real_titles = {" ".join(t.split()) for t in ARXIV.read_text(encoding="utf-8").splitlines()}
    items = baseline.baseline(60, songs, titles, seed=4)
    assert len({b.text for b in items}) == 60
    assert {b.seam for b in items} == set(baseline.SEAMS)
    for b in items:
        assert b.song in real_songs or f"'{b.song}'" in real_songs or f'"{b.song}"' in real_songs
        assert b.title in real_titles
        assert f" {b.phrase} " in f" {b.title.replace(':', ' ')} "
        assert b.text == baseline.join(b.song, b.phrase, b.seam)
        # every word of the output is a word of that one song title, that one paper title, or the seam
        seam_words = set(re.findall(r"[^\s{}()]+", baseline.SEAMS[b.seam].replace("{s}", "").replace("{p}", "")))
        allowed = set(b.song.split()) | set(b.title.replace(":", " ").split()) | seam_words
        for w in b.text.replace("(", " ").replace(")", " ").split():
            assert w in allowed or w.rstrip(":") in allowed, (w, b)
        assert len(b.text.split()) <= baseline.MAX_TOTAL_WORDS


def test_baseline_is_seeded():
    songs, titles = baseline.load_baseline_sources(SONGS, ARXIV)
    a, b, c = (baseline.baseline(10, songs, titles, seed=s) for s in (1, 1, 2))
    assert a == b and a != c


def test_baseline_that_cannot_be_drawn_is_an_error():
    with pytest.raises(PanelError, match="could only draw"):
        baseline.baseline(3, ["Utopia"], ["Deep Cuboid Detection: Beyond 2D Bounding Boxes"], seed=0)


# -------------------------------------------------------------------------------------------------- draw

@pytest.mark.parametrize("spec, seeds", [("1-4", [1, 2, 3, 4]), ("3,1-2,3", [3, 1, 2]), ("7", [7])])
def test_parse_seeds(spec, seeds):
    assert panel.parse_seeds(spec) == seeds


@pytest.mark.parametrize("spec", ["", "a-b", "5-1", "1-"])
def test_bad_seeds(spec):
    with pytest.raises(PanelError):
        panel.parse_seeds(spec)


GROUPS = {
    "bot": ["Heat of the Moment (feat. of Probabilities)", "AlignGAN Without You", "alignGAN  without you",
            "Utopia (feat. multi-GPU data parallelization)"],
    "baseline": ["Unbreakable: image restoration", "Silver Lining (ResNet Remix)", "Drop Loud"],
    "best_of": ["Drop Loud", "Flexing To The Study", "Strong (feat. Salial Networks)"],
}


def test_sheets_hold_every_item_once_without_groups_and_differ_between_raters():
    key, sheets, dropped = panel.assemble(GROUPS, raters=3, seed=7)
    assert dropped == 1  # the second "AlignGAN Without You" (case and spaces differ)
    ids = {r[0] for r in key}
    assert len(ids) == 8
    assert len(key) == 9  # "Drop Loud" is in two groups: one id, two key rows
    assert len({r[0] for r in key if r[2] == "Drop Loud"}) == 1
    assert {r[1] for r in key} == set(GROUPS)
    for sheet in sheets:
        assert sorted(i for i, _ in sheet) == sorted(ids)
        body = "\n".join(f"{i}\t{t}" for i, t in sheet).lower()
        assert not any(g in body for g in ("bot", "baseline", "best_of"))
        assert all(re.fullmatch(r"[0-9a-f]{6}", i) for i, _ in sheet)
    orders = [[i for i, _ in s] for s in sheets]
    assert orders[0] != orders[1] and orders[1] != orders[2] and orders[0] != orders[2]
    assert panel.assemble(GROUPS, raters=3, seed=7) == (key, sheets, dropped)


def test_draw_from_files_writes_key_and_sheets(tmp_path):
    bot = tmp_path / "bot.txt"
    bot.write_text("\n".join(GROUPS["bot"]) + "\n")
    other = tmp_path / "other.txt"
    other.write_text("Four Winds (feat. Variational Inference)\n")
    songs = tmp_path / "songs.txt"
    songs.write_text("Silver Lining\nFour Winds\nHalf Love\nAvery\nCactus\nNo Place\n")
    arxiv = tmp_path / "arxiv.txt"
    arxiv.write_text("Deep Cuboid Detection: Beyond 2D Bounding Boxes\nReliably Learning the ReLU in Polynomial Time\n"
                     "Likelihood-free inference by ratio estimation\nEffective Quantization Methods for Recurrent Neural Networks\n")
    out = tmp_path / "panel-x"
    rc = cli.main(["panel", "draw", "--out", str(out), "--bot-file", str(bot), "--group", f"other={other}",
                     "--songs", str(songs), "--arxiv", str(arxiv), "--baseline-n", "3", "--no-best-of"])
    assert rc == 0
    key = panel.parse_key((out / "key.tsv").read_text())
    assert [sum(r[1] == g for r in key) for g in ("bot", "baseline", "other")] == [3, 3, 1]
    sheets = [(out / f"sheet-rater{i}.tsv").read_text() for i in (1, 2)]
    assert not (out / "sheet-rater3.tsv").exists()
    for s in sheets:
        assert len(s.splitlines()) == 7 and all(len(line.split("\t")) == 2 for line in s.splitlines())
        assert "bot" not in s and "baseline" not in s and "other" not in s
    # a second draw into the same folder would overwrite the key: refused
    assert cli.main(["panel", "draw", "--out", str(out), "--bot-file", str(bot), "--songs", str(songs),
                       "--arxiv", str(arxiv), "--no-best-of"]) == 1


# ------------------------------------------------------------------------------------------------- score

KEY = [("a1", "bot", "A"), ("b2", "bot", "B"), ("c3", "baseline", "C"), ("d4", "baseline", "D")]
IDS = {r[0] for r in KEY}
R1 = "id\tscore\tboth\tsalad\na1\t1\tn\ty\nb2\t2\tn\tn\nc3\t4\ty\tn\nd4\t5\ty\tn\n"
R2 = "id\tscore\tboth\tsalad\n# comment\nd4\t4\tY\tn\nc3\t5\ty\tn\n\nb2\t1\tn\ty\na1\t2\ty\ty\n"


def test_parse_ratings():
    r = panel.parse_ratings(R2, IDS, "ratings-b.tsv")
    assert r["d4"] == panel.Rating(4, True, False) and r["a1"] == panel.Rating(2, True, True)


@pytest.mark.parametrize("text, message", [
    ("id\tscore\tboth\tsalad\na1\t1\tn\ty\nb2\t2\tn\tn\nc3\t4\ty\tn\n", r"1 item\(s\) not rated, e\.g\. d4"),
    ("id\tscore\tsalad\n", "header"),
    ("", "header"),
    (R1 + "zz\t3\tn\tn\n", "line 6: id 'zz' is not in the key"),
    (R1 + "a1\t3\tn\tn\n", "line 6: id a1 rated twice"),
    (R1.replace("a1\t1", "a1\t6"), "line 2: score '6' is not a whole number 1-5"),
    (R1.replace("a1\t1", "a1\t3.5"), "score '3.5'"),
    (R1.replace("b2\t2\tn\tn", "b2\t2\tmaybe\tn"), "line 3: both 'maybe' is not y or n"),
    (R1.replace("c3\t4\ty\tn", "c3\t4\ty"), "line 4: expected 4 tab-separated fields, got 3"),
])
def test_bad_ratings_are_one_line_errors(text, message):
    with pytest.raises(PanelError, match=message) as e:
        panel.parse_ratings(text, IDS, "ratings-x.tsv")
    assert "\n" not in str(e.value) and str(e.value).startswith("ratings-x.tsv")


def test_pearson():
    assert panel.pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert panel.pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert panel.pearson([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert panel.pearson([3, 3, 3], [1, 2, 3]) is None
    assert panel.pearson([1], [1]) is None


def test_scores_of_a_known_ratings_set():
    ratings = {"a": panel.parse_ratings(R1, IDS, "a"), "b": panel.parse_ratings(R2, IDS, "b")}
    s = panel.score_panel(KEY, ratings)
    bot, base = s["groups"]["bot"], s["groups"]["baseline"]
    assert (bot["n"], bot["ratings"]) == (2, 4)
    assert bot["mean"] == pytest.approx(1.5) and base["mean"] == pytest.approx(4.5)
    assert bot["share_4_5"] == 0 and base["share_4_5"] == 1
    assert bot["share_both"] == pytest.approx(0.25) and base["share_both"] == 1
    assert bot["share_salad"] == pytest.approx(0.75) and base["share_salad"] == 0
    assert bot["rater_means"] == {"a": 1.5, "b": 1.5} and base["rater_means"] == {"a": 4.5, "b": 4.5}
    pair = s["agreement"]["pairs"]["a~b"]
    assert pair["all"] == pytest.approx(0.8)  # a: 1 2 4 5, b: 2 1 5 4
    assert pair["bot"] == pytest.approx(-1.0)
    assert s["agreement"]["mean_r"] == pytest.approx(0.8)
    md = panel.render(s)
    assert "| bot | 2 | 4 | 1.50 | 0% | 25% | 75% | 1.50 | 1.50 |" in md
    assert "| baseline | 2 | 4 | 4.50 | 100% | 100% | 0% | 4.50 | 4.50 |" in md
    assert "Mean r over pairs: 0.80" in md


def test_one_rater_panel_is_flagged():
    s = panel.score_panel(KEY, {"a": panel.parse_ratings(R1, IDS, "a")})
    assert s["agreement"]["mean_r"] is None and "does not count" in panel.render(s)


def test_score_command(tmp_path, capsys):
    panel.write_tsv(tmp_path / "key.tsv", KEY, ("id", "group", "text"))
    assert cli.main(["panel", "score", str(tmp_path)]) == 1
    assert "no ratings" in capsys.readouterr().err
    (tmp_path / "ratings-ann.tsv").write_text(R1)
    (tmp_path / "ratings-bo.tsv").write_text(R2.replace("a1\t2\ty\ty\n", ""))
    assert cli.main(["panel", "score", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ratings-bo.tsv: 1 item(s) not rated, e.g. a1" in err
    (tmp_path / "ratings-bo.tsv").write_text(R2)
    assert cli.main(["panel", "score", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| raters | r, all items | r, bot | r, baseline |" in out and "| ann / bo | 0.80 | -1.00 | -1.00 |" in out
    assert (tmp_path / "scores.md").read_text() == out


def test_baseline_uses_each_song_title_and_phrase_once():
    songs, titles = baseline.load_baseline_sources(SONGS, ARXIV)
    items = baseline.baseline(300, songs, titles, seed=9)
    for part in ("song", "title", "phrase"):
        values = [getattr(b, part).casefold() for b in items]
        assert len(set(values)) == len(values), part


def test_bot_titles_run_the_command_once_per_seed(tmp_path):
    fake = tmp_path / "fakebot.py"
    fake.write_text("import json, sys\nseed = int(sys.argv[sys.argv.index('--seed') + 1])\n"
                    "print(json.dumps({'would_post': None if seed == 2 else f'Title  {seed}'}))\n")
    cmd = f"{sys.executable} {fake} --dry-run --json"
    assert panel.bot_titles(cmd, [1, 2, 3]) == ["Title 1", "Title 3"]
    with pytest.raises(PanelError, match="no JSON"):
        panel.bot_titles(f"{sys.executable} -c print(1)", [1])
    with pytest.raises(PanelError, match=r"failed \(3\)"):
        panel.bot_titles(f"{sys.executable} -c 'raise SystemExit(3)'", [1])
