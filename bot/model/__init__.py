"""The model at run time: textgenrnn-format model files and their typed config, the numpy
network (network.py) and the one sampler over it (sampler.py: halves, textgenrnn's generate()),
corpus tokens (sources.py), fluency scores (scoring.py) and numpy's BLAS threads (threads.py).

May import: numpy, h5py, threadpoolctl, the standard library, bot.errors and bot.files. Never
bot.curation, bot.posting or bot.training, and never TensorFlow/Keras: the posting worker loads it.
"""
