"""The check as the import function runs it: one process, no workers, the row report written out.

``python bench/one_process.py FILE`` prints a JSON line: rows, seconds, the process's peak memory
(its largest resident set, MB) and the verdict counts. `make bench` runs it on the worst case of the
duplicate index (bench/run.py).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

from listguard.verification import Verification


def main(path: str) -> None:
    started = time.perf_counter()
    with open(path, "rb") as stream, open(os.devnull, "w") as rows_out:
        verification = Verification(stream, size=os.path.getsize(path))
        for batch in verification.batches():
            rows_out.write(batch.report_csv())
        report = verification.report()
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        json.dumps({"rows": report.rows, "seconds": seconds, "peak_mb": peak_mb, "verdicts": report.verdicts})
    )


if __name__ == "__main__":
    main(sys.argv[1])
