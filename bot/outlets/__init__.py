"""The networks a status can leave through: each an Outlet (base.py), driven by the one publisher
(bot/posting/publisher.py)."""
