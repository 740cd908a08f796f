"""`make bench`: the speed and memory of `listguard verify` on a million-row import, against a baseline.

Baseline: the plain loop anyone would write first, in this process, over the same file:
``for row in csv.reader(f): validate_email(row[0], check_deliverability=False)``.
Subject: the whole command as a user runs it, in a subprocess (startup included):
``listguard verify FILE --json --rows-out OUT``.

Goals: the command is at least 10x faster than the baseline, and peaks under 300 MB of memory.

Then the worst case of the duplicate index, as the import function checks a file (one process, no
workers, bench/one_process.py): 240 MB of short unique addresses (22 million rows, generated once,
~20 s). Goal: under 1 GB of memory. It adds 40 to 80 s; ``--skip-worst-case`` leaves it out.

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
import threading
import time
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

sys.path.insert(0, str(Path(__file__).resolve().parent))
from contacts import contact_file, short_address_file  # bench/ is not a package: its directory is on sys.path

DATA = Path(__file__).resolve().parent / ".data"
MIN_SPEEDUP = 10.0
MAX_PEAK_MB = 300.0
WORST_CASE_MAX_PEAK_MB = 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="data rows in the generated file")
    parser.add_argument(
        "--skip-worst-case",
        action="store_true",
        help="leave out the worst case of the duplicate index (40 to 80 s)",
    )
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
    worst = None if args.skip_worst_case else _worst_case()
    worst_ok = worst is None or worst["peak_mb"] < WORST_CASE_MAX_PEAK_MB
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
        "worst_case": worst,
        "goals": {
            "speedup_at_least": MIN_SPEEDUP,
            "peak_memory_mb_below": MAX_PEAK_MB,
            "worst_case_peak_memory_mb_below": WORST_CASE_MAX_PEAK_MB,
        },
        "pass": {
            "speed": speed_ok,
            "memory": memory_ok,
            "worst_case_memory": None if worst is None else worst_ok,
        },
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
    print(f"peak memory (PSS): {peak_mb:>12.1f} MB     goal < {MAX_PEAK_MB:.0f} MB     {_mark(memory_ok)}")
    counts = ", ".join(f"{name} {count:,}" for name, count in report["verdicts"].items() if count)
    print(f"sanity: outcome {report['outcome']}; verdicts: {counts}")
    if worst is not None:
        print(
            f"worst case:         {worst['rows']:,} short unique addresses ({worst['file_mb']:.0f} MB), "
            f"one process: {worst['rows'] / worst['seconds']:,.0f} rows/s ({worst['seconds']:.1f} s)"
        )
        goal = f"goal < {WORST_CASE_MAX_PEAK_MB:.0f} MB"
        print(f"worst-case peak:   {worst['peak_mb']:>12.1f} MB     {goal}    {_mark(worst_ok)}")
    print(f"figures written to {DATA / 'last.json'}")
    return 0 if speed_ok and memory_ok and worst_ok else 1


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


def _worst_case() -> dict:
    """The duplicate index's worst case, checked as the import function checks a file: one process."""
    started = time.perf_counter()
    path = short_address_file(DATA)
    ready = time.perf_counter() - started
    print(f"worst-case file: {path} ({path.stat().st_size / 1e6:.0f} MB; ready in {ready:.1f} s)")
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve().parent / "one_process.py"), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampler = _TreeMemory(process.pid)
    sampler.start()
    stdout, stderr = process.communicate()
    sampler.stop()
    if process.returncode != 0:
        raise SystemExit(f"error: the one-process check exited {process.returncode}: {stderr.strip()}")
    figures = json.loads(stdout)
    # The process's own largest resident set, and what the sampler saw (the larger of the two).
    peak_mb = max(figures["peak_mb"], sampler.peak_mb)
    return {
        "rows": figures["rows"],
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "seconds": round(figures["seconds"], 2),
        "peak_mb": round(peak_mb, 1),
        "verdicts": figures["verdicts"],
    }


def _listguard() -> str:
    listguard = Path(sys.executable).parent / "listguard"
    command = str(listguard) if listguard.exists() else shutil.which("listguard")
    if command is None:
        raise SystemExit("error: the listguard command is not installed: run `make venv` first")
    return command


def _command(path: Path) -> tuple[float, float, float, dict]:
    """Wall and CPU seconds, peak memory (MB) of the whole command with its workers, and its JSON report."""
    command = _listguard()
    rows_out = DATA / "rows-out.csv"
    started = time.perf_counter()
    process = subprocess.Popen(
        [command, "verify", str(path), "--json", "--rows-out", str(rows_out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampler = _TreeMemory(process.pid)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    sampler.stop()
    if process.returncode != 0:
        raise SystemExit(f"error: listguard verify exited {process.returncode}: {stderr.strip()}")
    # Only this child has been waited for: RUSAGE_CHILDREN is the command (and its workers) alone.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The largest single process (ru_maxrss) can only be a floor of the tree's sampled peak.
    peak_mb = max(sampler.peak_mb, usage.ru_maxrss / 1024)
    return seconds, usage.ru_utime + usage.ru_stime, peak_mb, json.loads(stdout)


class _TreeMemory(threading.Thread):
    """Samples the memory of a process and all its descendants (the verify command forks workers).

    PSS (proportional set size, from /proc/<pid>/smaps_rollup) counts a page shared by the forked
    processes once in all, where adding their RSS would count it once per process.
    """

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_mb = pid, interval, 0.0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak_mb = max(self.peak_mb, sum(map(_pss_kib, _tree(self.pid))) / 1024)
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()


def _tree(pid: int) -> list[int]:
    pids, index = [pid], 0
    while index < len(pids):
        try:
            tasks = Path(f"/proc/{pids[index]}/task").iterdir()
            for task in tasks:
                pids.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            pass  # the process has just ended
        index += 1
    return pids


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


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
