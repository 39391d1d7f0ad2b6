"""Avatar images: anything Pillow recognises as a photo becomes a 256×256 JPEG; everything else
(renamed PDFs, decompression bombs, truncated files) is refused before it is decoded."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from playback.errors import Invalid

AVATAR_SIZE = 256
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
MAX_SIDE = 8192
MAX_PIXELS = 40_000_000


def render_avatar(data: bytes) -> bytes:
    """The stored avatar for uploaded bytes, or ``Invalid`` with a stable code."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # reads the header only
            fmt = image.format
            width, height = image.size
            if fmt not in ACCEPTED_FORMATS:
                raise Invalid("Upload a JPEG, PNG, WebP or GIF image.", code="invalid_image")
            if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
                raise Invalid(
                    f"The image is too large ({width}×{height}); at most {MAX_SIDE} pixels a side.",
                    code="image_too_large",
                )
            if fmt == "JPEG":
                image.draft("RGB", (AVATAR_SIZE * 2, AVATAR_SIZE * 2))  # decode at reduced size
            image.load()
    except Invalid:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Invalid("The image is too large.", code="image_too_large") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise Invalid("Upload a JPEG, PNG, WebP or GIF image.", code="invalid_image") from exc

    return _square_jpeg(image)


def _square_jpeg(image: Image.Image) -> bytes:
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "L"):
        # Flatten transparency onto white rather than black.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    image = ImageOps.fit(image.convert("RGB"), (AVATAR_SIZE, AVATAR_SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()
