"""``annie playground``: the lecture as a live page in the browser, trained by annie itself.

Start it with ``annie playground`` or :func:`serve`. The server (``server.py``) keeps one
session per browser tab (``sessions.py``) with an MLP tab (``mlp_lab.py``) and an RNN tab
(``rnn_lab.py``); each trains in its own worker thread and streams what the page draws.
"""
from .server import PlaygroundServer, serve

__all__ = ["PlaygroundServer", "serve"]
