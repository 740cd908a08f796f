"""`make bench`: the speed and memory of `listguard verify` on a million-row import, against a baseline.

Baseline: the plain loop anyone would write first, in this process, over the same file:
``for row in csv.reader(f): validate_email(row[0], check_deliverability=False)``.
Subject: the whole command as a user runs it, in a subprocess (startup included):
``listguard verify FILE --json --rows-out OUT``.

Goals: the command is at least 10x faster than the baseline, and peaks under 300 MB of memory.
Prints the figures with PASS/FAIL, writes them to bench/.data/last.json, exits 1 when a goal fails.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

sys.path.insert(0, str(Path(__file__).resolve().parent))
from contacts import contact_file  # bench/ is not a package: its directory is on sys.path

DATA = Path(__file__).resolve().parent / ".data"
MIN_SPEEDUP = 10.0
MAX_PEAK_MB = 300.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="data rows in the generated file")
    args = parser.parse_args()

    started = time.perf_counter()
    path = contact_file(DATA, args.rows)
    size_mb = path.stat().st_size / 1_048_576
    ready = time.perf_counter() - started
    print(f"file: {path} ({args.rows:,} rows, {size_mb:.1f} MB; ready in {ready:.1f} s)")

    baseline_seconds, baseline_cpu = _baseline(path)
    command_seconds, command_cpu, peak_mb, report = _command(path)
    startup_seconds = _startup()

    rows = report["rows"]
    baseline_rate = args.rows / baseline_seconds
    command_rate = rows / command_seconds
    speedup = command_rate / baseline_rate
    # CPU seconds are steadier than wall time on a shared machine: printed for information only.
    cpu_speedup = baseline_cpu / command_cpu
    speed_ok, memory_ok = speedup >= MIN_SPEEDUP, peak_mb < MAX_PEAK_MB
    figures = {
        "rows": rows,
        "file_mb": round(size_mb, 1),
        "baseline_seconds": round(baseline_seconds, 2),
        "baseline_rows_per_second": round(baseline_rate),
        "command_seconds": round(command_seconds, 2),
        "command_rows_per_second": round(command_rate),
        "speedup": round(speedup, 1),
        "baseline_cpu_seconds": round(baseline_cpu, 2),
        "command_cpu_seconds": round(command_cpu, 2),
        "cpu_speedup": round(cpu_speedup, 1),
        "peak_memory_mb": round(peak_mb, 1),
        "startup_seconds": round(startup_seconds, 2),
        "goals": {"speedup_at_least": MIN_SPEEDUP, "peak_memory_mb_below": MAX_PEAK_MB},
        "pass": {"speed": speed_ok, "memory": memory_ok},
        "verdicts": report["verdicts"],
        "outcome": report["outcome"],
        "python": sys.version.split()[0],
    }
    (DATA / "last.json").write_text(json.dumps(figures, indent=2) + "\n")

    print(f"rows:               {rows:,}")
    print(f"baseline:           {baseline_rate:>12,.0f} rows/s  ({baseline_seconds:.2f} s)")
    print(f"listguard verify:   {command_rate:>12,.0f} rows/s  ({command_seconds:.2f} s, startup included)")
    print(f"speed-up:           {speedup:>12.1f}x      goal >= {MIN_SPEEDUP:.0f}x       {_mark(speed_ok)}")
    cpu = f"{baseline_cpu:.2f} s / {command_cpu:.2f} s of CPU, for information"
    print(f"cpu speed-up:       {cpu_speedup:>12.1f}x      ({cpu})")
    print(
        f"startup:            {startup_seconds:>12.2f} s      (the command on a one-row file, included above)"
    )
    print(f"peak memory:        {peak_mb:>12.1f} MB     goal < {MAX_PEAK_MB:.0f} MB     {_mark(memory_ok)}")
    counts = ", ".join(f"{name} {count:,}" for name, count in report["verdicts"].items() if count)
    print(f"sanity: outcome {report['outcome']}; verdicts: {counts}")
    print(f"figures written to {DATA / 'last.json'}")
    return 0 if speed_ok and memory_ok else 1


def _baseline(path: Path) -> tuple[float, float]:
    """Wall and CPU seconds of the naive loop: the csv module and email-validator, nothing else."""
    started, started_cpu = time.perf_counter(), time.process_time()
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.reader(f):
            try:  # noqa: SIM105 (the plain loop as people write it; suppress() would slow it down)
                validate_email(row[0], check_deliverability=False)
            except EmailNotValidError:
                pass
    return time.perf_counter() - started, time.process_time() - started_cpu


def _listguard() -> str:
    listguard = Path(sys.executable).parent / "listguard"
    command = str(listguard) if listguard.exists() else shutil.which("listguard")
    if command is None:
        raise SystemExit("error: the listguard command is not installed: run `make venv` first")
    return command


def _command(path: Path) -> tuple[float, float, float, dict]:
    """Wall and CPU seconds, peak resident memory (MB) of the whole command, and its JSON report."""
    command = _listguard()
    rows_out = DATA / "rows-out.csv"
    started = time.perf_counter()
    finished = subprocess.run(
        [command, "verify", str(path), "--json", "--rows-out", str(rows_out)], capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f"error: listguard verify exited {finished.returncode}: {finished.stderr.strip()}")
    # Only this child has been waited for: RUSAGE_CHILDREN is the command alone.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
    return seconds, usage.ru_utime + usage.ru_stime, peak_mb, json.loads(finished.stdout)


def _startup() -> float:
    """Best of three wall times of the command on a one-row file: interpreter, imports, report."""
    tiny = DATA / "one-row.csv"
    tiny.write_text("email\nann@example.com\n")
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([_listguard(), "verify", str(tiny), "--json"], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return min(times)


def _mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


if __name__ == "__main__":
    sys.exit(main())
