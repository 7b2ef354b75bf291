"""Images for ``send_image``: a matplotlib figure, PNG/JPEG bytes or a file path."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

MAX_IMAGE_BYTES = 10 * 1024 * 1024


def to_data_url(image: Any) -> str:
    if hasattr(image, "savefig"):  # a matplotlib figure
        buf = io.BytesIO()
        image.savefig(buf, format="png", dpi=80)
        data, mime = buf.getvalue(), "image/png"
    elif isinstance(image, (bytes, bytearray)):
        data = bytes(image)
        mime = _sniff(data)
    elif isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise FileNotFoundError(f"no image at {path}")
        data = path.read_bytes()
        mime = _sniff(data)
    else:
        raise TypeError("send_image takes a matplotlib figure, PNG/JPEG bytes or a path, not "
                        f"{type(image).__name__}")
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"image is {len(data) / 1e6:.1f} MB; the limit is 10 MB")
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _sniff(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    raise ValueError("only PNG and JPEG images are supported")
