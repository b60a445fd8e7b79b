"""Which files the package holds; everything else about it is in pyproject.toml.

The shipped model lives in the tree as top-level model_weights/ (the design card's layout) and is
installed as bot/shipped_model/, package data of the bot package, so `bot` finds it after any kind
of install and from any directory (bot/posting/settings.py, shipped_model_dir). pyproject.toml
cannot map a folder to a package name while also finding packages, hence this file.
"""
from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["bot", "bot.*"]), "bot.shipped_model"],
    package_dir={"bot.shipped_model": "model_weights"},
    package_data={"bot.shipped_model": ["*"]},
)
