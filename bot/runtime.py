"""The model and its evidence, loaded and validated once per process and shared by every part
that writes text: the worker's pool, the replier, `bot --dry-run`, `bot reply --dry-run`, tests
and benches."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .curation.evidence import Evidence
from .errors import ModelFileError
from .model.modelfile import CharModel, ModelPaths, load_model
from .model.sampler import Sampler


@dataclass(frozen=True)
class Runtime:
    """A halves model (bot/training/halves.py) with its sampler and the evidence shipped beside
    it (curation/evidence.py: word statistics, novelty index, seam table, known halves, curator,
    and the optional word vectors)."""

    paths: ModelPaths
    sampler: Sampler
    evidence: Evidence

    @property
    def model(self) -> CharModel:
        return self.sampler.model

    @property
    def directory(self) -> Path:
        return self.paths.weights.parent

    @property
    def missing_optional(self) -> tuple[str, ...]:
        """Optional evidence files this model directory lacks (named by `bot check` and the dry
        run's header): the ranking works without them, a little worse."""
        return tuple(name for name in Evidence.optional_files(self.paths.name)
                     if not (self.directory / name).exists())

    def describe(self) -> str:
        """One line: the model, its size and what is missing."""
        config = self.model.config
        size = f"{config.rnn_layers}x{config.rnn_size}"
        missing = (f"; optional files missing: {', '.join(self.missing_optional)}"
                   if self.missing_optional else "")
        return f"model {self.paths.config} ({size} LSTM, curator: {self.evidence.curator.source or 'unnamed'}{missing})"

    @classmethod
    def load(cls, model_dir: str | Path) -> "Runtime":
        """Raises ModelFileError (one line, naming the file) when a model file or a required
        evidence file is missing or unreadable, or when the model is not a halves model."""
        paths = ModelPaths.in_directory(model_dir)
        model = load_model(paths)
        if not model.config.halves:
            raise ModelFileError(f"{paths.config} is not a halves model (config `halves` is false): this version "
                                 "posts only halves models (bot train); whole-title and corpus-switching models "
                                 "ran up to songs-x-arxiv-bot 0.1.0 at commit 0334321")
        return cls(paths, Sampler(model), Evidence.load(Path(model_dir), paths.name))
