"""What the rule brain can honestly say about an image: its format and size."""

from __future__ import annotations

import base64
import struct
from typing import Any


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """``(format, width, height)`` from a PNG or JPEG header, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "PNG", width, height
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            length = struct.unpack(">H", data[i + 2:i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5:i + 9])
                return "JPEG", width, height
            i += 2 + length
    return None


def describe_images(item: dict[str, Any]) -> str | None:
    """A sentence about the images in a user message, or None if it has none."""
    found = []
    for part in item.get("content") or []:
        if part.get("type") != "input_image":
            continue
        url = part.get("image_url") or ""
        try:
            data = base64.b64decode(url.split(",", 1)[1]) if "," in url else b""
        except ValueError:
            data = b""
        found.append(image_size(data))
    if not found:
        return None
    known = [f for f in found if f]
    if not known:
        return "I received an image, but I couldn't read it."
    kind, width, height = known[0]
    many = f"{len(found)} images; the first is" if len(found) > 1 else "an image,"
    return (f"I received {many} a {width} by {height} pixel {kind}. I'm a rule-based local "
            "engine, so I can't see what is in it.")
