"""The benchmark's figures as text, and the targets they are held against (met / NOT met / not measured)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audit_bench import Figures, SizeFigures

RATIO = 1.2  # whole command / minimal client, at 10,000 and 100,000
BYTES_PER_MAILBOX = 300
FORMAT_S = 0.5  # each format at 10,000
RSS_MB = 300  # the whole command with every format at 100,000
HTML_MB = 5.0
RENDER_S = 3.0
DIFF_S = 2.0
EVALUATE_S = 2.0
LARGE = 100_000


def mb(size: float) -> str:
    return f"{size / 1e6:.1f} MB"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def bytes_per_mailbox(figures: Figures) -> float | None:
    by_size = {s.mailboxes: s.report_bytes for s in figures.sizes}
    if 1_000 not in by_size or 10_000 not in by_size:
        return None
    return (by_size[10_000] - by_size[1_000]) / 9_000


def target(text: str, value: float | None, limit: float, shown: str, *, inclusive: bool = False,
           at: int | None = None, measured_at: int | None = None) -> dict[str, Any]:
    """One target: met when `value` is below `limit` (or equal, when `inclusive`); not measured when there is no
    value, or when `at` (the size the target is for) is not the size it was measured at (--short)."""
    if value is None or (at is not None and measured_at != at):
        where = f" (measured at {measured_at:,}: {shown})" if value is not None and measured_at else ""
        return {"target": text, "value": None, "shown": f"not measured{where}", "met": None}
    met = value <= limit if inclusive else value < limit
    return {"target": text, "value": value, "shown": shown, "met": met}


def targets(figures: Figures) -> list[dict[str, Any]]:
    sizes = {s.mailboxes: s for s in figures.sizes}
    rows = [target(f"whole command <= {RATIO}x minimal at {n:,}", sizes[n].ratio if n in sizes else None, RATIO,
                   f"{sizes[n].ratio:.2f}x" if n in sizes else "", inclusive=True) for n in (10_000, LARGE)]
    per_mailbox = bytes_per_mailbox(figures)
    rows.append(target(f"JSON report <= {BYTES_PER_MAILBOX} bytes per passing mailbox", per_mailbox,
                       BYTES_PER_MAILBOX, f"{per_mailbox or 0:.0f} bytes", inclusive=True))
    at_10k = figures.formats.get("10000", {})
    slowest = max(at_10k.items(), key=lambda item: item[1]["write_s"], default=None)
    rows.append(target(f"every format < {FORMAT_S} s at 10,000", slowest[1]["write_s"] if slowest else None, FORMAT_S,
                       f"slowest {slowest[0]} {slowest[1]['write_s']:.2f}s" if slowest else ""))
    whole, html = figures.all_formats, figures.html
    rows.append(target(f"peak memory < {RSS_MB} MB at 100,000 with all formats", whole.get("rss_mb"), RSS_MB,
                       f"{whole.get('rss_mb', 0):.0f} MB", at=LARGE, measured_at=whole.get("mailboxes")))
    html_mb = html["bytes"] / 1e6 if "bytes" in html else None
    rows.append(target(f"HTML of 100,000 < {HTML_MB:.0f} MB", html_mb, HTML_MB, mb(html.get("bytes", 0)), at=LARGE,
                       measured_at=html.get("mailboxes")))
    rows.append(target(f"HTML of 100,000 rendered by Chromium < {RENDER_S:.0f} s", html.get("render_s"), RENDER_S,
                       seconds(html.get("render_s")), at=LARGE, measured_at=html.get("mailboxes")))
    rows.append(target(f"diff of two 100,000 reports < {DIFF_S:.0f} s", figures.diff.get("wall_s"), DIFF_S,
                       seconds(figures.diff.get("wall_s")), at=LARGE, measured_at=figures.diff.get("mailboxes")))
    rows.append(target(f"evaluate of 100,000 < {EVALUATE_S:.0f} s", figures.evaluate.get("best_s"), EVALUATE_S,
                       seconds(figures.evaluate.get("best_s")), at=LARGE,
                       measured_at=figures.evaluate.get("mailboxes")))
    return rows


def print_comparison(figures: Figures) -> None:
    print(f"xtcheck audit vs the minimal client: healthy scenario + generated mailboxes, profile named in the config; "
          f"{figures.latency * 1000:.0f} ms added to every request; {figures.cpus} CPUs; Python {figures.python}; "
          "cached bytecode; medians of 3 runs (1 at 100,000)")
    print(f"{'':>9}  {'------------- xtcheck audit -------------':>43}  {'----------- minimal client -----------':>40}")
    print(f"{'mailboxes':>9}  {'wall':>7}  {'1st req':>7}  {'requests':>8}  {'peak RSS':>8}  {'exit':>4}  "
          f"{'wall':>7}  {'1st req':>7}  {'requests':>8}  {'peak RSS':>8}  {'ratio':>5}")
    for s in figures.sizes:
        print(f"{s.mailboxes:>9,}  {side(s, 'xtcheck')}  {max(x.exit for x in s.xtcheck):>4}  {side(s, 'minimal')}  "
              f"{s.ratio:>5.2f}")
    print("  wall: spawn to exit; 1st req: spawn to the first request the sandbox saw; ratio: xtcheck wall / minimal")
    for s in figures.sizes:
        says = s.minimal_says
        print(f"  {s.mailboxes:,}: minimal client's mailbox query: {says['mailbox_query']}; its own clock: wall "
              f"{says['wall_s']:.2f}s, first request {says['first_request_s']:.2f}s; rows {says['rows']}")
        for who, extra in (("xtcheck", s.only_xtcheck), ("minimal", s.only_minimal)):
            for line in extra:
                print(f"    only {who}: {line}")


def side(s: SizeFigures, name: str) -> str:
    medians = s.medians[name]
    wall, first, requests, rss = (medians[k] for k in ("wall_s", "first_request_s", "requests", "rss_mb"))
    return f"{seconds(wall):>7}  {seconds(first):>7}  {requests or 0:>8.0f}  {rss or 0:>5.0f} MB"


def print_reports(figures: Figures) -> None:
    sizes = "; ".join(f"{s.mailboxes:,}: {mb(s.report_bytes)}" for s in figures.sizes)
    per_mailbox = bytes_per_mailbox(figures)
    print(f"\nJSON report: {sizes}; (size at 10,000 - size at 1,000) / 9,000 = "
          f"{'-' if per_mailbox is None else f'{per_mailbox:.0f}'} bytes per passing mailbox")
    print("report formats, each in its own process: the saved snapshot read and evaluated (untimed), then "
          "write_reports timed")
    print(f"{'mailboxes':>9}  {'format':<8}  {'write':>7}  {'size':>9}  {'RSS before':>10}  {'peak RSS':>8}")
    for size, formats in figures.formats.items():
        for fmt, f in formats.items():
            print(f"{int(size):>9,}  {fmt:<8}  {f['write_s']:>6.2f}s  {mb(f['bytes']):>9}  "
                  f"{f['rss_before_mb']:>7.0f} MB  {f['rss_peak_mb']:>5.0f} MB")
    whole = figures.all_formats
    files = ", ".join(f"{name} {mb(size)}" for name, size in sorted(whole["bytes"].items()))
    print(f"whole command with all five formats at {whole['mailboxes']:,}: {whole['wall_s']:.1f}s, peak RSS "
          f"{whole['rss_mb']:.0f} MB, exit {whole['exit']} ({files})")
    html = figures.html
    shown = (f"Chromium {html['render_s']:.2f}s beyond a tiny page's {html['baseline_s']:.2f}s (page "
             f"{html['page_s']:.2f}s)") if "render_s" in html else f"Chromium: {html['note']}"
    print(f"HTML report of {html['mailboxes']:,}: {mb(html['bytes'])}; {shown}")
    print(f"xtcheck diff of two {figures.diff['mailboxes']:,}-mailbox reports: {figures.diff['wall_s']:.2f}s "
          f"(exit {figures.diff['exit']})")
    evaluate = figures.evaluate
    print(f"xtcheck evaluate of {evaluate['mailboxes']:,} mailboxes (snapshot {mb(evaluate['snapshot_bytes'])}): "
          f"{evaluate['best_s']:.2f}s best of 3")
    print(f"xtcheck --version: {figures.version_s:.3f}s best of 5")


def print_figures(figures: Figures) -> list[dict[str, Any]]:
    """Print every figure and the targets; return the targets."""
    print_comparison(figures)
    print_reports(figures)
    rows = targets(figures)
    print("targets:")
    for row in rows:
        verdict = "" if row["met"] is None else ("met" if row["met"] else "NOT met")
        print(f"  {row['target']}: {row['shown']}{f' ({verdict})' if verdict else ''}")
    return rows
