#!/usr/bin/env python3
"""Plot the CSV tables of gpc's `sample` command as an SVG line chart (standard library
only).

usage: plot.py INPUT OUTPUT.svg [OUTPUT.csv]

INPUT is what `gpc run SCRIPT` printed (`-` for stdin). Every `sample` prints a table: a
header `ms,FILE,...` and one row per step. Lines outside tables (such as `W=2`, printed by
`spawn` or `cgexec`) are skipped. Consecutive tables with the same columns are joined on
one time axis: each starts where the previous one ended (its first row, the values at its
start, is the previous table's last). The joined series goes to OUTPUT.csv if given.

The chart shows, for each column, the share of one CPU it grew by in each interval:
(value now - value before) / (interval in ns), in percent. That is what a cumulative
counter in nanoseconds (cpuacct.usage) means per interval. Each column is named by its
group (the directory holding the file). Dashed lines mark where a table ended and the
next began (the script changed something there).
"""
import csv
import io
import sys

WIDTH, HEIGHT = 720, 400
LEFT, RIGHT, TOP, BOTTOM = 70, 150, 50, 60
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def tables(text):
    """The sample tables of a transcript: (header, rows) with rows as int lists."""
    found, header, rows = [], None, []
    for line in text.splitlines():
        if line.startswith("ms,"):
            if header:
                found.append((header, rows))
            header, rows = next(csv.reader([line])), []
        elif header and line[:1].isdigit():
            rows.append([int(v) for v in next(csv.reader([line]))])
        elif header:
            found.append((header, rows))
            header, rows = None, []
    if header:
        found.append((header, rows))
    return found


def join(found):
    """One series from consecutive tables; the times where one table gave way."""
    if not found:
        sys.exit("plot.py: no sample table in the input")
    header = found[0][0]
    series, breaks, offset = [], [], 0
    for i, (h, rows) in enumerate(found):
        if h != header:
            sys.exit(f"plot.py: table {i + 1} has other columns: {h}")
        if i > 0:
            breaks.append(offset)
            rows = rows[1:]
        for row in rows:
            series.append([row[0] + offset] + row[1:])
        if series:
            offset = series[-1][0]
    return header, series, breaks


def label(path):
    parts = [p for p in path.split("/") if p]
    return parts[-2] if len(parts) >= 2 else path


def nice_step(span, count):
    raw = span / max(count, 1)
    step = 1
    while step * 10 <= raw:
        step *= 10
    for m in (1, 2, 5, 10):
        if step * m >= raw:
            return step * m
    return step * 10


def svg(header, series, breaks):
    times = [r[0] for r in series]
    shares = []
    for col in range(1, len(header)):
        pts = []
        for prev, cur in zip(series, series[1:]):
            dt_ns = (cur[0] - prev[0]) * 1_000_000
            if dt_ns > 0:
                pts.append((cur[0], 100.0 * (cur[col] - prev[col]) / dt_ns))
        shares.append(pts)
    t_max = max(times) if times else 1
    y_max = max([100.0] + [v for pts in shares for _, v in pts])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t):
        return LEFT + plot_w * t / t_max

    def y(v):
        return TOP + plot_h * (1 - v / y_max)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT + plot_w / 2:.1f}" y="24" text-anchor="middle" font-size="15">'
        "CPU share of each group per interval (from cpuacct.usage)</text>",
    ]
    for v in range(0, int(y_max) + 1, 20):
        out.append(f'<line x1="{LEFT}" y1="{y(v):.1f}" x2="{LEFT + plot_w}" y2="{y(v):.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 8}" y="{y(v) + 4:.1f}" text-anchor="end">{v}%</text>')
    step = nice_step(t_max, 8)
    for t in range(0, t_max + 1, step):
        out.append(f'<line x1="{x(t):.1f}" y1="{TOP + plot_h}" x2="{x(t):.1f}" '
                   f'y2="{TOP + plot_h + 5}" stroke="black"/>')
        out.append(f'<text x="{x(t):.1f}" y="{TOP + plot_h + 20}" text-anchor="middle">{t}</text>')
    for b in breaks:
        out.append(f'<line x1="{x(b):.1f}" y1="{TOP}" x2="{x(b):.1f}" y2="{TOP + plot_h}" '
                   'stroke="#888" stroke-dasharray="4 4"/>')
    out.append(f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" '
               f'y2="{TOP + plot_h}" stroke="black"/>')
    out.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="black"/>')
    out.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 15}" text-anchor="middle">'
               "simulated time (ms)</text>")
    out.append(f'<text x="18" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 18 {TOP + plot_h / 2:.1f})">share of one CPU</text>')
    for i, pts in enumerate(shares):
        colour = COLOURS[i % len(COLOURS)]
        coords = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in pts)
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>')
        ly = TOP + 20 + 22 * i
        lx = LEFT + plot_w + 15
        out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 25}" y2="{ly}" stroke="{colour}" '
                   'stroke-width="2"/>')
        out.append(f'<text x="{lx + 32}" y="{ly + 4}">{label(header[i + 1])}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) not in (3, 4):
        sys.exit(__doc__.split("\n\n")[1])
    text = sys.stdin.read() if argv[1] == "-" else open(argv[1], encoding="utf-8").read()
    header, series, breaks = join(tables(text))
    with open(argv[2], "w", encoding="utf-8", newline="\n") as f:
        f.write(svg(header, series, breaks))
    if len(argv) == 4:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(series)
        with open(argv[3], "w", encoding="utf-8", newline="\n") as f:
            f.write(buf.getvalue())


if __name__ == "__main__":
    main(sys.argv)
