"""Draw Corridor's app icons (run once by hand with Pillow installed; the PNGs are committed)."""

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "static" / "icons"
BRAND, PAPER = (18, 53, 91), (255, 255, 255)


def icon(size: int, maskable: bool) -> Image.Image:
    img = Image.new("RGB", (size, size), BRAND)
    d = ImageDraw.Draw(img)
    # A maskable icon keeps its mark inside the central 80% safe zone.
    inset = size * (0.28 if maskable else 0.18)
    w = size * 0.09
    # A corridor in perspective: two converging walls and a door at the end.
    left, right, top, bottom = inset, size - inset, inset, size - inset
    d.line([(left, top), (size * 0.42, size * 0.40), (size * 0.42, size * 0.60), (left, bottom)], fill=PAPER, width=int(w / 2))
    d.line([(right, top), (size * 0.58, size * 0.40), (size * 0.58, size * 0.60), (right, bottom)], fill=PAPER, width=int(w / 2))
    d.rectangle([size * 0.45, size * 0.43, size * 0.55, size * 0.60], fill=(255, 191, 71))
    return img


OUT.mkdir(parents=True, exist_ok=True)
icon(192, False).save(OUT / "icon-192.png", optimize=True)
icon(512, False).save(OUT / "icon-512.png", optimize=True)
icon(512, True).save(OUT / "icon-maskable-512.png", optimize=True)
