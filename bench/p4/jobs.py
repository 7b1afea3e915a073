"""The report job, run by an RQ worker: the same work as the axp agent does in P4."""

import time


def generate_report(quarter: str, duration_ms: int) -> dict:
    """Pretends to build a report for `duration_ms`, then says when it finished (epoch s)."""
    time.sleep(duration_ms / 1000.0)
    return {
        "report_url": f"https://example.invalid/reports/{quarter}.pdf",
        "done_at": time.time(),
    }
