"""A standard tus client that no one here wrote (PyPI tuspy) uploading to a live intake.

Usage: python tuspy_upload.py BASE_URL TOKEN
Prints one "PASS name" or "FAIL name: why" line per check; exits non-zero if any failed.
Authentication is a static header, as any tus client can send it.
"""
import hashlib
import os
import sys
import traceback

import requests
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed

BASE, TOKEN = sys.argv[1].rstrip("/"), sys.argv[2]
ENDPOINT = BASE + "/v1/uploads"
AUTH = {"Authorization": "Bearer " + TOKEN}
results = []


def check(name):
    def wrap(fn):
        try:
            fn()
            results.append(("PASS", name, ""))
        except Exception as e:  # noqa: BLE001 - every failure is reported, none hidden
            results.append(("FAIL", name, f"{e!r}\n{traceback.format_exc()}"))
        return fn
    return wrap


def head(url):
    return requests.head(url, headers={**AUTH, "Tus-Resumable": "1.0.0"}, timeout=10)


def status_of(error):
    return getattr(error, "status_code", None)


@check("tuspy uploads a file in chunks with sha1 chunk checksums and intake stores its SHA-256")
def full_upload():
    data = os.urandom(300_000)
    sha = hashlib.sha256(data).hexdigest()
    path = "/tmp/fieldseal-tuspy-photo.jpg"
    with open(path, "wb") as f:
        f.write(data)
    c = tus_client.TusClient(ENDPOINT, headers=AUTH)
    uploader = c.uploader(path, chunk_size=64 * 1024, metadata={"sha256": sha}, upload_checksum=True)
    uploader.upload()
    r = head(uploader.url)
    assert r.status_code == 200, r.status_code
    assert r.headers["Upload-Offset"] == str(len(data)), r.headers
    assert r.headers["Fieldseal-Blob-Sha256"] == sha, r.headers


@check("tuspy resumes an upload another uploader began, from the offset intake reports")
def resume():
    data = os.urandom(200_000)
    sha = hashlib.sha256(data).hexdigest()
    path = "/tmp/fieldseal-tuspy-resume.jpg"
    with open(path, "wb") as f:
        f.write(data)
    c = tus_client.TusClient(ENDPOINT, headers=AUTH)
    first = c.uploader(path, chunk_size=50_000, metadata={"sha256": sha})
    first.upload_chunk()
    assert head(first.url).headers["Upload-Offset"] == "50000"
    second = c.uploader(path, chunk_size=50_000, url=first.url)
    assert second.offset == 50_000, second.offset
    second.upload()
    assert head(first.url).headers["Fieldseal-Blob-Sha256"] == sha


@check("a blob that does not hash to its declared sha256 fails the tuspy upload with 422")
def wrong_hash():
    data = os.urandom(10_000)
    path = "/tmp/fieldseal-tuspy-wrong.jpg"
    with open(path, "wb") as f:
        f.write(data)
    c = tus_client.TusClient(ENDPOINT, headers=AUTH)
    uploader = c.uploader(path, chunk_size=64 * 1024, metadata={"sha256": hashlib.sha256(b"other").hexdigest()})
    try:
        uploader.upload()
    except TusUploadFailed as e:
        assert status_of(e) == 422, status_of(e)
        return
    raise AssertionError("intake accepted a blob whose hash differs from the declared one")


@check("without the token tuspy cannot create an upload")
def no_token():
    path = "/tmp/fieldseal-tuspy-anon.jpg"
    with open(path, "wb") as f:
        f.write(b"\xff\xd8" + os.urandom(100))
    c = tus_client.TusClient(ENDPOINT)
    try:
        c.uploader(path, metadata={"sha256": "a" * 64}).upload()
    except (TusCommunicationError, TusUploadFailed) as e:
        assert status_of(e) == 401, status_of(e)
        return
    raise AssertionError("an upload was created without a token")


for status, name, why in results:
    print(f"{status} {name}" + (f": {why}" if why else ""))
sys.exit(0 if all(s == "PASS" for s, _, _ in results) else 1)
