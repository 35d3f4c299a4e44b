"""``annie playground`` from the command line: it serves the page, stops cleanly on Ctrl+C or
``kill``, and refuses a bad or busy port with one line and exit code 2."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys

import pytest

from annie.cli import main


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_the_command_serves_the_page_and_stops_cleanly(stop, tmp_path):
    """Ctrl+C (SIGINT) or ``kill`` (SIGTERM): exit 0, the sessions' temporary folders gone."""
    process = subprocess.Popen([sys.executable, "-m", "annie.cli", "playground", "--port", "0",
                                "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "TMPDIR": str(tmp_path)})
    try:
        line = process.stdout.readline()
        assert line.startswith("annie playground: http://127.0.0.1:"), line
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/")
        response = connection.getresponse()
        assert response.status == 200 and b"annie playground" in response.read()
        connection.request("POST", "/api/sessions")  # a session: its folder in TMPDIR
        response = connection.getresponse()
        assert response.status == 200 and response.read()
        assert any(name.startswith("annie-playground-") for name in os.listdir(tmp_path))
        connection.close()
    finally:
        process.send_signal(stop)
        _, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors
    assert "Traceback" not in errors
    assert not [name for name in os.listdir(tmp_path) if name.startswith("annie-playground-")]


def test_a_bad_or_busy_port_is_one_line_and_exit_2(capsys):
    assert main(["playground", "--port", "70000", "--no-browser"]) == 2
    assert "--port must be a whole number from 0 to 65535" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["playground", "--port", str(port), "--no-browser"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("annie: error: playground: cannot listen on 127.0.0.1:") \
        and error.count("\n") == 1
