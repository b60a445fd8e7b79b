"""MODEL.md: how a shipped model was made, rendered from its config's training record."""
from __future__ import annotations

from ..model.config import ModelConfig


def _strategy_lines(config: ModelConfig) -> list[str]:
    return [
        f"- strategy `halves` (`bot/training/halves.py`): whole song titles (artist, tags and quotes "
        f"taken off) and whole paper phrases (paper titles cut at colons and joining words such as "
        f"\"for\", \"with\", \"of\"), each word introduced by its corpus' token "
        f"({', '.join((config.sources or {}).values())}); every example ends where its half ends",
        "- sampling: each half is written in one corpus from its first word to the end token "
        "(`switch_probability` 0); the pool joins a song half and a paper phrase at a seam the "
        "corpora use (`<name>_seams.json`, bot/curation/seams.py) and the curator ranks them; a half "
        "that joins its words as no real half does (word runs hashed in `<name>_halves.npz`, limits "
        "`UNSEEN_RUNS` in bot/curation/mashups.py) is dropped",
        f"- with the shipped word statistics, a word its corpus has never used (invented, or the other "
        f"corpus') is sampled again, up to {config.word_retries} times (`word_retries`)",
    ]


def _curve_lines(curve: list[dict]) -> list[str]:
    """The per-epoch table: training loss, validation loss (held-out halves) and seconds."""
    if not curve:
        return []
    number = lambda x: "-" if x is None else f"{x:.4f}"  # noqa: E731
    return ["", "## Curves (cross-entropy per character, nats)", "",
            "| epoch | training loss | validation loss | seconds |", "| --- | --- | --- | --- |",
            *[f"| {h['epoch']} | {number(h.get('loss'))} | {number(h.get('val_loss'))} | {h.get('seconds')} |"
              for h in curve]]


def render(config: ModelConfig, samples: list[str], temperature: float) -> str:
    t = config.training or {}
    data = "\n".join(f"| `{name}` | `{digest}` |" for name, digest in t.get("data", {}).items())
    lines = [
        f"# Model `{config.name or 'model'}`",
        "",
        "Trained by `bot train`; the three files beside this one are in textgenrnn's format "
        "(weights `.hdf5`, vocab `.json`, config `.json`).",
        "",
        "## Command",
        "",
        "```",
        t.get("command", "unknown"),
        "```",
        "",
        "## Data",
        "",
        "| file | SHA-256 |",
        "| --- | --- |",
        data,
        "",
        f"{t.get('titles')} training halves ({t.get('characters')} characters) after cleaning and "
        f"balancing by {t.get('balance')}.",
        "",
        "## Network and training",
        "",
        f"- {config.rnn_layers} LSTM layers of {config.rnn_size} units, embeddings of "
        f"{config.dim_embeddings}, attention over the last {config.max_length} characters, "
        f"semantics `{config.semantics}`",
        f"- started from {t.get('from')}; {t.get('epochs')} epochs, batch {t.get('batch_size')}, "
        f"dropout {t.get('dropout')}",
        *_strategy_lines(config),
        f"- training time {t.get('seconds')} s (per epoch: {t.get('epoch_seconds')}), on this project's "
        "2-core CPU machine",
        f"- final loss {t.get('final_loss'):.4f} (cross-entropy per character, nats)"
        if t.get("final_loss") is not None else "- final loss unknown",
        f"- validation: {t.get('validation_halves')} unique halves held out "
        f"({100 * t.get('validation_share', 0):g}% of each corpus' halves, chosen by the seed); "
        f"final validation loss {t['final_validation_loss']:.4f}"
        if t.get("final_validation_loss") is not None else "- no validation split",
        *_curve_lines(t.get("curve", [])),
        "",
        f"## Ten unedited samples (temperature {temperature}, seed 0)",
        "",
        *[f"{i}. {s}" for i, s in enumerate(samples, 1)],
        "",
    ]
    return "\n".join(lines)
