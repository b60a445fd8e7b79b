"""Choosing what to post: words and their normalisation, the word statistics and novelty index
shipped beside a model, the word check for source models, filters, ranking, the candidate pool.

May import: bot.model, bot.errors and run-time libraries. Never bot.posting or
bot.training, and never TensorFlow/Keras.
"""
