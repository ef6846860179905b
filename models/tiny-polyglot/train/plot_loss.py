"""Plot loss.csv (train and dev loss against training tokens) as a small standalone SVG for the model card.

Hand-written SVG because Debian's matplotlib is not otherwise needed by the pipeline.
Run: /usr/bin/python3 plot_loss.py [loss.csv] [loss.svg]
"""
import csv
import sys
from pathlib import Path

from common import HERE


def main():
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "loss.csv"
    dst = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE.parent / "loss.svg"
    rows = list(csv.DictReader(open(src)))
    xs = [int(r["tokens"]) / 1e6 for r in rows]
    series = {"train": [float(r["train_loss"]) for r in rows], "dev": [float(r["dev_loss"]) for r in rows]}
    W, H, L, R, T, B = 640, 360, 56, 16, 20, 44
    ymin = min(min(v) for v in series.values())
    ymax = max(min(max(v) for v in series.values()), ymin + 0.5)
    ymin = max(0.0, ymin - 0.2)
    xmax = max(xs) or 1
    px = lambda x: L + (W - L - R) * x / xmax
    py = lambda y: T + (H - T - B) * (1 - (min(y, ymax) - ymin) / (ymax - ymin))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>']
    for i in range(6):
        y = ymin + (ymax - ymin) * i / 5
        out.append(f'<line x1="{L}" x2="{W - R}" y1="{py(y):.1f}" y2="{py(y):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{L - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.2f}</text>')
    for i in range(6):
        x = xmax * i / 5
        out.append(f'<text x="{px(x):.1f}" y="{H - B + 16}" text-anchor="middle">{x:.1f}</text>')
    out.append(f'<text x="{(L + W - R) / 2}" y="{H - 8}" text-anchor="middle">training tokens (millions)</text>')
    out.append(f'<text x="14" y="{(T + H - B) / 2}" transform="rotate(-90 14 {(T + H - B) / 2})" '
               f'text-anchor="middle">cross-entropy (nats/token)</text>')
    colors = {"train": "#1f77b4", "dev": "#d62728"}
    for j, (name, ys) in enumerate(series.items()):
        pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys))
        out.append(f'<polyline fill="none" stroke="{colors[name]}" stroke-width="2" points="{pts}"/>')
        out.append(f'<text x="{W - R - 60}" y="{T + 16 + 16 * j}" fill="{colors[name]}">{name} loss</text>')
    out.append("</svg>")
    dst.write_text("\n".join(out) + "\n")
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
