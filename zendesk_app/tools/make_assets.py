"""Draw the Groundswell mark and write the Zendesk app's marketplace images.

The mark is three swells, each taller than the one in front of it, with a dot above the tallest:
a rise in ticket volume that Groundswell notices before it becomes a wave. Everything is computed
here, so the images can be redrawn at any time::

    .venv/bin/python zendesk_app/tools/make_assets.py

writes, into ``zendesk_app/assets/``:

- ``logo.png``: 320x320 RGB, the mark on a full square tile (no rounded corners);
- ``logo-small.png``: 128x128 RGBA, the mark on a transparent background;
- ``icon_nav_bar.svg``: a one-colour outline of the front swell for the navigation bar
  (``currentColor``, so Zendesk can tint it for its active and inactive states).

Drawing is done at four times the target size and scaled down with a Lanczos filter, which gives
smooth edges without blur at the final size.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from PIL import Image, ImageDraw

SUPERSAMPLE = 4
DEEP = (12, 59, 74)  # tile background
SWELLS = ((34, 112, 128), (70, 170, 170), (168, 228, 214))  # back to front, on the tile
CREST = (255, 122, 89)  # the noticed rise

Point = tuple[float, float]


def swell_curve(size: float, lift: float, centre: float, samples: int = 96) -> list[Point]:
    """Points of one swell across a square of side ``size``, from the left edge to the right.

    The surface is a gentle sine ripple plus a bell-shaped swell of height ``lift`` (a share of
    ``size``) whose top sits at ``centre`` (a share of the width).
    """
    points: list[Point] = []
    for i in range(samples + 1):
        t = i / samples
        ripple = 0.025 * math.sin(2 * math.pi * (2.2 * t + 0.1))
        rise = lift * math.exp(-((t - centre) / 0.2) ** 2)
        y = 0.84 - rise + ripple
        points.append((t * size, y * size))
    return points


def _layers(size: float) -> list[list[Point]]:
    return [  # back to front: each swell is lower and further right
        swell_curve(size, lift=0.58, centre=0.72),
        swell_curve(size, lift=0.40, centre=0.45),
        swell_curve(size, lift=0.22, centre=0.18),
    ]


def draw_mark(size: int, background: tuple[int, int, int] | None) -> Image.Image:
    """The mark on a square image of ``size`` pixels (transparent if ``background`` is None)."""
    big = size * SUPERSAMPLE
    mode = "RGB" if background else "RGBA"
    fill = background if background else (0, 0, 0, 0)
    image = Image.new(mode, (big, big), fill)
    draw = ImageDraw.Draw(image)
    layers = _layers(big)
    colours = SWELLS if background else tuple(reversed(SWELLS))
    for curve, colour in zip(layers, colours):
        polygon = curve + [(big, big), (0, big)]
        draw.polygon(polygon, fill=colour if background else colour + (255,))
    crest_x, crest_y = min(layers[0], key=lambda p: p[1])
    radius = 0.07 * big
    box = (crest_x - radius, crest_y - 3.2 * radius, crest_x + radius, crest_y - 1.2 * radius)
    draw.ellipse(box, fill=CREST if background else CREST + (255,))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def nav_bar_svg(size: int = 18) -> str:
    """An outline of the tallest swell and its dot, drawn with ``currentColor``.

    The curve is rescaled to fill the icon, inside a margin that keeps the stroke uncut.
    """
    curve = swell_curve(1.0, lift=0.58, centre=0.72, samples=24)
    top, bottom = min(y for _, y in curve), max(y for _, y in curve)
    margin, dot_room = 1.5, 0.3 * size
    points = [(margin + x * (size - 2 * margin),
               dot_room + (y - top) / (bottom - top) * (size - margin - dot_room)) for x, y in curve]
    path = "M" + " L".join(f"{x:.2f},{y:.2f}" for x, y in points)
    crest_x, crest_y = min(points, key=lambda p: p[1])
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}">'
        f'<path d="{path}" fill="none" stroke="currentColor" stroke-width="1.6" '
        'stroke-linecap="round" stroke-linejoin="round"/>'
        f'<circle cx="{crest_x:.2f}" cy="{crest_y - 0.17 * size:.2f}" r="{0.09 * size:.2f}" '
        'fill="currentColor"/>'
        "</svg>\n"
    )


def write_assets(out: Path) -> list[Path]:
    """Write every marketplace image into ``out`` and return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    logo = draw_mark(320, DEEP)
    logo.save(out / "logo.png", optimize=True)
    written.append(out / "logo.png")
    small = draw_mark(128, None)
    small.save(out / "logo-small.png", optimize=True)
    written.append(out / "logo-small.png")
    (out / "icon_nav_bar.svg").write_text(nav_bar_svg(), encoding="utf-8")
    written.append(out / "icon_nav_bar.svg")
    return written


def main() -> None:
    default_out = Path(__file__).resolve().parents[1] / "assets"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=default_out, help="folder to write into")
    args = parser.parse_args()
    for path in write_assets(args.out):
        print(path)


if __name__ == "__main__":
    main()
