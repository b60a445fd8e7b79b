"""Song x arXiv title mashups on Mastodon.

Four sub-packages, imports pointing down only (tests/test_layout.py checks it):
  bot/cli.py       the `bot` command, on top: may import anything
  bot/posting/     settings, state, the Mastodon gateway, schedule, worker, daemon (run time)
  bot/curation/    words, word statistics, filters, ranking, the candidate pool (run time)
  bot/model/       model files, the numpy sampler, decoding policies (run time; numpy, h5py)
  bot/training/    corpora, Keras network, training, deriving statistics (train time only)
  bot/errors.py    at the bottom: anyone may import it
model <- curation <- posting; training may use model and curation; nothing run-time imports
training, and only training imports TensorFlow/Keras.
"""
