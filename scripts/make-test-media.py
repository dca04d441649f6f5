#!/usr/bin/env python3
"""Makes the small real-tool media fixtures in core/tests/media/ (committed with this script).

Photos: Pillow encodes, piexif writes the EXIF (then, for the quirks cameras and EXIF tools really
produce, a few bytes of the TIFF structure are changed the way those writers leave them). HEIC and
AVIF: pillow-heif. Video and audio: Debian ffmpeg. Run from the repository root:

    python3 -m venv .cache/media-venv && .cache/media-venv/bin/pip install piexif Pillow pillow-heif
    .cache/media-venv/bin/python scripts/make-test-media.py

Deterministic inputs; encoders may still vary by version, so the tests assert what the files mean
(complete or cut, which quirk, which GPS), not their bytes.
"""
import io
import os
import struct
import subprocess
import sys

import piexif
from PIL import Image, ImageDraw
import pillow_heif

OUT = os.path.join(os.path.dirname(__file__), "..", "core", "tests", "media")


def picture(w=96, h=64):
    img = Image.new("RGB", (w, h), (200, 40, 40))
    d = ImageDraw.Draw(img)
    d.rectangle([w // 2, 0, w, h], fill=(40, 40, 200))
    for i in range(0, w, 8):
        d.line([i, 0, i, h], fill=(i * 2 % 255, 120, 80))
    return img


def dms(value):
    v = abs(value)
    deg = int(v)
    minutes = int((v - deg) * 60)
    sec = round(((v - deg) * 60 - minutes) * 60 * 10000)
    return ((deg, 1), (minutes, 1), (sec, 10000))


def exif_dict(gps=None, make="HUAWEI", model="ALN-AL00", thumbnail=True):
    zeroth = {piexif.ImageIFD.Make: make, piexif.ImageIFD.Model: model, piexif.ImageIFD.Orientation: 1}
    exif = {
        piexif.ExifIFD.DateTimeOriginal: "2024:05:06 14:30:15",
        piexif.ExifIFD.OffsetTimeOriginal: "+08:00",
    }
    d = {"0th": zeroth, "Exif": exif, "GPS": gps or {}, "1st": {}, "thumbnail": None}
    if thumbnail:
        t = io.BytesIO()
        picture(48, 32).save(t, "JPEG", quality=70)
        d["thumbnail"] = t.getvalue()
        d["1st"] = {piexif.ImageIFD.Compression: 6}
    return d


def hangzhou_gps():
    return {
        piexif.GPSIFD.GPSLatitudeRef: "N",
        piexif.GPSIFD.GPSLatitude: dms(30.2741),
        piexif.GPSIFD.GPSLongitudeRef: "E",
        piexif.GPSIFD.GPSLongitude: dms(120.1551),
        piexif.GPSIFD.GPSAltitudeRef: 0,
        piexif.GPSIFD.GPSAltitude: (1250, 100),
        piexif.GPSIFD.GPSDateStamp: "2024:05:06",
        piexif.GPSIFD.GPSTimeStamp: ((6, 1), (30, 1), (14, 1)),
    }


def jpeg(exif_bytes=None, progressive=False, img=None):
    out = io.BytesIO()
    kw = {"quality": 80, "progressive": progressive}
    if exif_bytes is not None:
        kw["exif"] = exif_bytes
    (img or picture()).save(out, "JPEG", **kw)
    return out.getvalue()


class Tiff:
    """Reads and patches the TIFF inside piexif's `Exif\\0\\0...` block."""

    def __init__(self, block):
        assert block.startswith(b"Exif\x00\x00")
        self.b = bytearray(block[6:])
        self.e = "<" if self.b[:2] == b"II" else ">"

    def u16(self, at):
        return struct.unpack_from(self.e + "H", self.b, at)[0]

    def u32(self, at):
        return struct.unpack_from(self.e + "I", self.b, at)[0]

    def put32(self, at, v):
        struct.pack_into(self.e + "I", self.b, at, v)

    def ifd0(self):
        return self.u32(4)

    def entry(self, ifd, tag):
        for i in range(self.u16(ifd)):
            at = ifd + 2 + 12 * i
            if self.u16(at) == tag:
                return at
        raise KeyError(tag)

    def next_pointer_at(self, ifd):
        return ifd + 2 + 12 * self.u16(ifd)

    def block(self):
        return b"Exif\x00\x00" + bytes(self.b)


def patched(fn, gps=None):
    t = Tiff(piexif.dump(exif_dict(gps=gps if gps is not None else hangzhou_gps())))
    fn(t)
    return jpeg(t.block())


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


# piexif itself writes no next-IFD pointer after a sub-IFD's entries: its first value bytes sit
# where the pointer belongs, so every piexif file carries "Unexpected next IFD" (kamadak-exif) and
# "Value ... overlaps IFD" (exiftool -validate) — genuine quirks of a common tool, kept as they are.


def ifd_visited_twice(t):
    # The GPS pointer names the Exif IFD (an editor that reused an offset).
    exif_ifd = t.u32(t.entry(t.ifd0(), 0x8769) + 8)
    t.put32(t.entry(t.ifd0(), 0x8825) + 8, exif_ifd)


def gps_pointer_nowhere(t):
    # An empty GPS block: the pointer is there, the IFD is not.
    t.put32(t.entry(t.ifd0(), 0x8825) + 8, len(t.b) + 4096)


def ifd_count_truncated(t):
    # IFD1 (as a maker-note writer left it) starts on the last byte: its count is cut.
    t.put32(t.next_pointer_at(t.ifd0()), len(t.b) - 1)


def value_overlaps_ifd(t):
    # Model's value offset points into IFD0 itself; exiftool reads whatever bytes are there.
    at = t.entry(t.ifd0(), 0x0110)
    t.b[at + 4:at + 8] = struct.pack(t.e + "I", 12)
    t.put32(at + 8, t.ifd0())


def signed_gps_block():
    # Android's ExifInterface writes GPS degrees as SRATIONAL.
    gps = piexif.TAGS["GPS"]
    saved = {k: gps[k]["type"] for k in (piexif.GPSIFD.GPSLatitude, piexif.GPSIFD.GPSLongitude)}
    for k in saved:
        gps[k]["type"] = piexif.TYPES.SRational
    try:
        return piexif.dump(exif_dict(gps=hangzhou_gps()))
    finally:
        for k, v in saved.items():
            gps[k]["type"] = v


def stray_bytes(data):
    # Three bytes between APP1 and the next segment, as some gallery apps leave them.
    at = 2
    while True:
        assert data[at] == 0xFF
        marker = data[at + 1]
        length = struct.unpack(">H", data[at + 2:at + 4])[0]
        if marker == 0xE1:
            end = at + 2 + length
            return data[:end] + b"\x00\x17\x00" + data[end:]
        at += 2 + length


def claim_size(data, w, h):
    # Rewrites the SOF2 dimensions: a tiny progressive JPEG whose header claims w×h.
    at = data.index(b"\xFF\xC2")
    b = bytearray(data)
    struct.pack_into(">HH", b, at + 5, h, w)
    return bytes(b)


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    pillow_heif.register_heif_opener()
    write("genuine-baseline.jpg", jpeg(piexif.dump(exif_dict(gps=hangzhou_gps()))))
    write("genuine-progressive-no-thumbnail.jpg",
          jpeg(piexif.dump(exif_dict(gps=hangzhou_gps(), thumbnail=False)), progressive=True,
               img=picture(640, 480)))
    write("genuine-no-exif.jpg", jpeg())
    write("quirk-ifd-visited-twice.jpg", patched(ifd_visited_twice))
    write("quirk-gps-pointer-nowhere.jpg", patched(gps_pointer_nowhere))
    write("quirk-ifd-count-truncated.jpg", patched(ifd_count_truncated))
    write("quirk-value-overlaps-ifd.jpg", patched(value_overlaps_ifd))
    write("quirk-stray-bytes.jpg", stray_bytes(jpeg(piexif.dump(exif_dict(gps=hangzhou_gps())))))
    write("gps-signed-rationals.jpg", jpeg(signed_gps_block()))
    g = hangzhou_gps()
    g[piexif.GPSIFD.GPSLatitude] = ((30, 1), (16, 1), (0, 0))
    g[piexif.GPSIFD.GPSLongitude] = ((120, 1), (9, 1), (0, 0))
    write("gps-zero-over-zero-seconds.jpg", jpeg(piexif.dump(exif_dict(gps=g))))
    g = hangzhou_gps()
    g[piexif.GPSIFD.GPSLatitude] = ((0, 1), (0, 1), (0, 1))
    g[piexif.GPSIFD.GPSLongitude] = ((0, 1), (0, 1), (0, 1))
    write("gps-null-island.jpg", jpeg(piexif.dump(exif_dict(gps=g))))
    write("gps-altitude-only.jpg", jpeg(piexif.dump(exif_dict(gps={
        piexif.GPSIFD.GPSAltitudeRef: 0, piexif.GPSIFD.GPSAltitude: (43210, 100)}))))
    g = hangzhou_gps()
    g[piexif.GPSIFD.GPSTimeStamp] = ((6, 1), (30, 1), (1425, 100))
    write("gps-time-fraction.jpg", jpeg(piexif.dump(exif_dict(gps=g))))
    write("bomb-progressive-19999.jpg",
          claim_size(jpeg(progressive=True, img=picture(64, 64)), 19999, 19999))
    good = jpeg(piexif.dump(exif_dict(gps=hangzhou_gps())))
    write("cut-photo.jpg", good[: len(good) * 2 // 3])

    png = io.BytesIO()
    picture().save(png, "PNG", exif=piexif.dump(exif_dict(gps=hangzhou_gps(), thumbnail=False)))
    png = png.getvalue()
    write("genuine-with-exif.png", png)
    write("cut-photo.png", png[: len(png) // 2])
    bad = bytearray(png)
    bad[-13] ^= 0x55  # the last byte of IDAT's CRC
    write("quirk-bad-crc.png", bytes(bad))

    heic = io.BytesIO()
    picture(64, 48).save(heic, "HEIF", quality=50, exif=piexif.dump(exif_dict(gps=hangzhou_gps(), thumbnail=False)))
    heic = heic.getvalue()
    write("genuine.heic", heic)
    write("cut-half.heic", heic[: len(heic) // 2])
    write("cut-short.heic", heic[: len(heic) - 10])
    # mdat declared "to the end of the file" (size 0): the boxes add up however much is cut, so
    # only the iloc check can see the image data is incomplete.
    at = heic.index(b"mdat") - 4
    to_end = heic[:at] + b"\x00\x00\x00\x00" + heic[at + 4:]
    write("cut-mdat-to-end.heic", to_end[: len(to_end) - 100])
    avif = io.BytesIO()
    picture(64, 48).save(avif, "AVIF", quality=50)
    write("genuine.avif", avif.getvalue())

    src = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=5", "-t", "1", "-pix_fmt", "yuv420p"]
    meta = ["-metadata", "creation_time=2024-05-06T06:30:14Z"]
    ffmpeg(*src, *meta, "-metadata", "location=+30.2741+120.1551+012.500/", "-c:v", "libx264",
           os.path.join(OUT, "genuine-with-location.mp4"))
    # QuickTime mode writes the location as ©xyz; MP4 mode (above) as 3GPP loci.
    ffmpeg(*src, *meta, "-metadata", "location=-33.8688+151.2093/", "-c:v", "libx264",
           os.path.join(OUT, "genuine-with-location.mov"))
    ffmpeg(*src, "-c:v", "libx264", "-movflags", "+faststart", "-f", "3gp",
           os.path.join(OUT, "genuine.3gp"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", "-b:a", "32k",
           os.path.join(OUT, "genuine.m4a"))
    with open(os.path.join(OUT, "genuine-with-location.mp4"), "rb") as f:
        mp4 = f.read()
    write("cut-moov-at-end.mp4", mp4[: len(mp4) * 2 // 3])
    ffmpeg(*src, "-c:v", "libx264", "-movflags", "+faststart", os.path.join(OUT, "faststart.tmp.mp4"))
    with open(os.path.join(OUT, "faststart.tmp.mp4"), "rb") as f:
        fast = f.read()
    os.remove(os.path.join(OUT, "faststart.tmp.mp4"))
    write("cut-faststart.mp4", fast[: len(fast) * 2 // 3])
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"{len(os.listdir(OUT))} files, {total} bytes in {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
