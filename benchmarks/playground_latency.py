"""How long the playground takes to answer a control while large recurrent sessions train.

    python benchmarks/playground_latency.py [--sessions 4] [--changes 10] [--cell lstm]
                                            [--steps 200] [--hidden 128] [--batch 64]

Starts ``annie playground`` in a fresh process, opens ``--sessions`` sessions whose RNN tab
plays with the given settings, then (through the HTTP API, as the page does) changes the
learning rate of the first session ``--changes`` times while they train, and presses Pause.
Prints the median and the largest answer time of the changes, Pause's answer time and the
server's peak resident memory. Settings the playground refuses are reported with its message.
Not timed in the test suite; a run takes about a minute on 2 busy cores.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="playground control latency under load")
    parser.add_argument("--sessions", type=int, default=4, help="sessions training at once")
    parser.add_argument("--changes", type=int, default=10, help="learning-rate changes timed")
    parser.add_argument("--cell", default="lstm", choices=("rnn", "lstm", "gru"))
    parser.add_argument("--steps", type=int, default=200, help="sequence length T")
    parser.add_argument("--hidden", type=int, default=128, help="hidden size")
    parser.add_argument("--batch", type=int, default=64, help="batch size")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of training first")
    return parser.parse_args(argv)


def post(base: str, path: str, body: dict | None = None) -> tuple[int, dict, float]:
    """(status, decoded answer, seconds it took) of a POST with a JSON body."""
    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(base + path, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=300) as answer:
            status, text = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    return status, json.loads(text), time.perf_counter() - started


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident set size (VmHWM) in MiB (Linux)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(argv)
    server = subprocess.Popen([sys.executable, "-m", "annie", "playground", "--no-browser",
                               "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = ""
        while "http://" not in line:
            line = server.stdout.readline()
            if not line:
                raise SystemExit("the playground did not start")
        base = line[line.index("http://"):].split()[0].rstrip("/")
        settings = {"cell": options.cell, "steps": options.steps,
                    "hidden_size": options.hidden, "batch_size": options.batch}
        sessions = []
        for _ in range(options.sessions):
            status, body, _ = post(base, "/api/sessions")
            if status != 200:
                raise SystemExit(f"no session: {body}")
            sessions.append(body["session"])
            status, body, _ = post(base, f"/api/sessions/{sessions[-1]}/rnn/settings", settings)
            if status != 200:
                print(f"refused: {body['error']}")
                return 1
            post(base, f"/api/sessions/{sessions[-1]}/rnn/play")
        time.sleep(options.warmup)
        answers = []
        for index in range(options.changes):
            lr = 0.002 if index % 2 else 0.003
            status, body, seconds = post(base, f"/api/sessions/{sessions[0]}/rnn/settings",
                                         {"lr": lr})
            assert status == 200 and body["state"]["settings"]["lr"] == lr, body
            answers.append(seconds)
            time.sleep(0.3)
        status, body, pause_seconds = post(base, f"/api/sessions/{sessions[0]}/rnn/pause")
        assert status == 200 and not body["state"]["running"], body
        print(f"{options.sessions} session(s) training {options.cell}, T={options.steps}, "
              f"hidden {options.hidden}, batch {options.batch}")
        print(f"learning-rate change: median {statistics.median(answers):.3f} s, "
              f"max {max(answers):.3f} s over {len(answers)}")
        print(f"pause: {pause_seconds:.3f} s")
        print(f"server peak RSS: {peak_memory_mb(server.pid):.0f} MiB")
        return 0
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
