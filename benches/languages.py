"""What the multilingual model costs a running server: resident memory at rest, after an
English turn, after the first turn in another language (which loads the model and embeds
the FAQ with it), once the intents in other languages are learnt (in the background, after
the FAQ) and after more turns, and the reply time of each kind of turn.

    python benches/languages.py target/release/frontdesk [--turns 20]

Needs the `websockets` package (in benches/peer/requirements.txt). Starts the binary on a
fresh data directory with the demo FAQ and talks to it as the widget does (protocol v1).
"""
import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import tempfile
import time

import websockets

ENGLISH = "Where is my order? It should have arrived yesterday."
OTHER = [
    "Wo ist meine Bestellung? Sie hätte gestern ankommen sollen.",
    "Ich habe mein Passwort vergessen, wie kann ich es zurücksetzen?",
    "Combien de temps dure la livraison standard en Allemagne ?",
    "¿Puedo devolver un artículo que compré en las rebajas?",
    "Quanto costa la spedizione in Italia per un ordine piccolo?",
    "Kan ik mijn bestelling nog wijzigen nadat ik heb betaald?",
]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def turn(port: str, text: str) -> float:
    """One conversation, one message: the time from sending it to the bot's reply."""
    async with websockets.connect(f"ws://127.0.0.1:{port}/v1/chat") as ws:
        await ws.send(json.dumps({"type": "hello"}))
        while json.loads(await ws.recv()).get("type") != "welcome":
            pass
        started = time.perf_counter()
        await ws.send(json.dumps({"type": "message", "client_id": "c1", "text": text}))
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("type") == "message" and frame.get("from") == "bot" and frame.get("seq", 0) > 1:
                return (time.perf_counter() - started) * 1000


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("--turns", type=int, default=20)
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="frontdesk-languages-")
    # One new conversation per turn, from one address: lift the per-address limit.
    config = os.path.join(data, "bench.toml")
    with open(config, "w") as f:
        f.write("[limits]\nconversations_per_minute = 100000.0\nconversation_burst = 100000\n")
    log = os.path.join(data, "server.log")
    server = subprocess.Popen(
        [args.binary, "serve", "--addr", "127.0.0.1:0", "--data-dir", os.path.join(data, "data"),
         "--config", config],
        stdout=subprocess.PIPE, stderr=open(log, "w"),
        env={**os.environ, "FRONTDESK_OPERATOR_TOKEN": "languages-bench-operator-token-0123"})
    try:
        while True:
            line = server.stdout.readline().decode()
            if not line:
                raise SystemExit("the server stopped before listening")
            if "listening on" in line:
                port = re.search(r":(\d+)\s*$", line.strip()).group(1)
                break
        time.sleep(1.0)
        print("| state | resident memory |\n|---|---:|")
        print(f"| at rest | {rss_mib(server.pid):.1f} MiB |")
        english = [await turn(port, ENGLISH) for _ in range(args.turns)]
        print(f"| after {args.turns} English turns | {rss_mib(server.pid):.1f} MiB |")
        first = await turn(port, OTHER[0])
        time.sleep(1.0)
        print(f"| after the first turn in another language | {rss_mib(server.pid):.1f} MiB |")
        # Turns while the intents in other languages are learnt (the server logs when done).
        learning, deadline = [], time.time() + 120
        while "intents in other languages ready" not in open(log).read():
            if time.time() > deadline:
                raise SystemExit("the intents in other languages were not learnt within 120 s")
            learning.append(await turn(port, OTHER[len(learning) % len(OTHER)]))
        print(f"| once the intents in other languages are learnt | {rss_mib(server.pid):.1f} MiB |")
        other = [await turn(port, OTHER[i % len(OTHER)]) for i in range(args.turns)]
        print(f"| after {args.turns} more | {rss_mib(server.pid):.1f} MiB |")
        print("\n| turn | reply time, median (min–max) |\n|---|---:|")
        print(f"| English | {statistics.median(english):.1f} ms ({min(english):.1f}–{max(english):.1f}) |")
        print(f"| first in another language (loads the model, embeds the FAQ) | {first:.0f} ms |")
        if learning:
            print(f"| in another language, while the intents are learnt ({len(learning)} turns) | "
                  f"{statistics.median(learning):.1f} ms ({min(learning):.1f}–{max(learning):.1f}) |")
        print(f"| in another language, after that | {statistics.median(other):.1f} ms ({min(other):.1f}–{max(other):.1f}) |")
    finally:
        server.kill()


asyncio.run(main())
