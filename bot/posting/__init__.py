"""Posting: settings, the state database, the Mastodon gateway, registration, the schedule, the
worker's jobs and the daemon that runs them.

May import: bot.curation, bot.model, bot.errors, Mastodon.py and APScheduler. Never
bot.training, and never TensorFlow/Keras: the worker runs lean.
"""
