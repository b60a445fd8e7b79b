"""Blind panels and the curator fitted to them (`bot panel ...`): drawing rating sheets and
scoring them (sheets.py, with the no-network baseline of baseline.py), the curator's features
of every rated item (features.py), candidates from across the curator's ranking for a fitting
panel (candidates.py), and the fit that writes the shipped `<name>_curator.json` (fit.py).
Run through bot/cli.py; measurements stay in bench/."""
