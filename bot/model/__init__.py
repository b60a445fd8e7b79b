"""The model at run time: textgenrnn-format model files, the numpy network and sampler, the
decoding-policy hook and the corpus-tag strategy (source-conditioned models).

May import: numpy, h5py, the standard library, bot.errors. Never bot.curation,
bot.posting or bot.training, and never TensorFlow/Keras: the posting worker loads it.
"""
