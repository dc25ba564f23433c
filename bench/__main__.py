"""`python -m bench` (or `make bench`): see bench/README.md.

`python -m bench --only clients [--qbt-... flags]` (or `python -m bench.clients`) runs only
the download-client status cycle (bench/clients.py); `--only processor [--quick]
[--proc-... flags]` (or `python -m bench.processor`) only the processor benchmark
(bench/processor.py); `--only releases` only release parsing and scoring
(bench/releases.py); `--only events [--quick]` only client change -> SSE latency and the
notification overhead on dispatch (bench/events.py); `--only relay [--quick]` only the
Postgres event relay between processes (bench/relay.py); `--only stalls` only the
event-loop stalls from one heavy request (bench/stalls.py); `--only telegram [--quick]`
only the Telegram bot's figures (bench/telegram.py); `--only videos [--quick]` only the
yt-dlp client, probe and video grab figures (bench/videos.py); `--only peers [--quick]`
Queuarr side by side with pyLoad (bench/peers.py); `--only startup` start-up and idle
RSS beside a bare FastAPI app (bench/startup.py); `--only grabcpu [--tree DIR]` the
server's CPU per grab, beside another source tree's (bench/grab_cpu.py); `--only queue`
only the queue
benchmark. A plain run does all three, the client and processor sections appended to
results/latest.md."""

import sys

from bench.run import main

args = sys.argv[1:]
only = args[1] if args[:1] == ["--only"] and len(args) > 1 else None
if only == "clients":
    from bench.clients import main as clients_main

    sys.exit(clients_main(args[2:]))
if only == "processor":
    from bench.processor import main as processor_main

    sys.exit(processor_main(args[2:]))
if only == "releases":
    from bench.releases import main as releases_main

    sys.exit(releases_main(args[2:]))
if only == "events":
    from bench.events import main as events_main

    sys.exit(events_main(args[2:]))
if only == "relay":
    from bench.relay import main as relay_main

    sys.exit(relay_main(args[2:]))
if only == "telegram":
    from bench.telegram import main as telegram_main

    sys.exit(telegram_main(args[2:]))
if only == "videos":
    from bench.videos import main as videos_main

    sys.exit(videos_main(args[2:]))
if only == "stalls":
    from bench.stalls import main as stalls_main

    sys.exit(stalls_main(args[2:]))
if only == "peers":
    from bench.peers import main as peers_main

    sys.exit(peers_main(args[2:]))
if only == "startup":
    from bench.startup import main as startup_main

    sys.exit(startup_main(args[2:]))
if only == "grabcpu":
    from bench.grab_cpu import main as grab_cpu_main

    sys.exit(grab_cpu_main(args[2:]))
code = main(args[2:] if only == "queue" else None)
if only != "queue":
    from bench.clients import main as clients_main

    code = clients_main(args, lenient=True) or code
    from bench.processor import main as processor_main

    code = processor_main(args, lenient=True) or code
sys.exit(code)
