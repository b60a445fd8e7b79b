"""Train time only: the corpora, the Keras network, `bot train`, deriving the shipped word
statistics and novelty index, the model card and `bot evaluate`.

May import: bot.model, bot.curation, bot.errors and TensorFlow/Keras (the only
sub-package that may). Nothing run time (model, curation, posting) imports it; bot/cli.py
imports it lazily, inside the training commands.
"""
