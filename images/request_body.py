"""A request body read from the connection a chunk at a time: sized (Content-Length) or chunked
(Transfer-Encoding: chunked, what `glance image-create --file` and `openstack image create` with
data on stdin send).

Under gunicorn the server decodes the chunked framing itself and says so (wsgi.input_terminated):
the body is wsgi.input read to its end. Django's development and test server (runserver,
LiveServerTestCase) does not: it hands the application a stream limited to Content-Length, which
is 0 without one. There the framing is decoded here, strictly, from the connection underneath.
Either way the body never exceeds `max_size` and is never held whole in memory.
"""

from collections.abc import Callable, Iterator

from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, UnreadablePostError

# A chunk-size line (size and extensions) and the trailer section are small; anything longer is
# not a client we know.
MAX_LINE = 4096
MAX_TRAILERS = 16 * 1024
HEX = frozenset(b"0123456789abcdefABCDEF")


class MalformedBody(Exception):
    """The body's framing is broken (400): a bad chunk size, a missing CRLF."""


class BodyTooLarge(Exception):
    """The body is larger than the server accepts (413)."""


class LengthRequired(Exception):
    """Neither a Content-Length nor a chunked body the server can read (411)."""


class Interrupted(UnreadablePostError):
    """The client went away before the body's end (400)."""


def is_chunked(request: HttpRequest) -> bool:
    codings = request.META.get("HTTP_TRANSFER_ENCODING", "")
    return any(c.strip().lower() == "chunked" for c in codings.split(","))


def declared_length(request: HttpRequest, *, max_size: int) -> int | None:
    """The body's length if the request declares one, None for a chunked body.

    Raises LengthRequired, MalformedBody or BodyTooLarge, before anything is read."""
    if is_chunked(request):
        if not _chunked_readable(request):
            raise LengthRequired("This server cannot read a chunked upload: send a Content-Length header.")
        return None
    raw = request.META.get("CONTENT_LENGTH") or ""
    if not raw:
        raise LengthRequired("The upload needs a Content-Length header or a chunked body.")
    if not raw.isdigit():
        raise MalformedBody(f"The Content-Length header {raw[:40]!r} is not a number of bytes.")
    length = int(raw)
    if length > max_size:
        raise BodyTooLarge(_too_large(max_size))
    return length


def body_chunks(request: HttpRequest, *, chunk_size: int, max_size: int) -> Iterator[bytes]:
    """The body in pieces of at most chunk_size bytes; call declared_length first.

    A sized body ends early if the client goes away (the reader sees fewer bytes than declared);
    a chunked one raises Interrupted then, MalformedBody on bad framing, BodyTooLarge past
    max_size (before the offending bytes are yielded)."""
    if not is_chunked(request):
        return _sized(request, int(request.META["CONTENT_LENGTH"]), chunk_size)
    stream = request.META["wsgi.input"]
    if request.META.get("wsgi.input_terminated"):
        return _limited(_until_eof(stream.read, chunk_size), max_size)
    read, readline = _raw(stream)
    return _limited(_dechunked(read, readline, chunk_size), max_size)


def _too_large(max_size: int) -> str:
    return f"The upload is larger than the {max_size} bytes this server accepts."


def _chunked_readable(request: HttpRequest) -> bool:
    if request.META.get("wsgi.input_terminated"):
        return True
    try:
        _raw(request.META["wsgi.input"])
    except LengthRequired:
        return False
    return True


def _raw(stream: object) -> tuple[Callable[[int], bytes], Callable[[int], bytes]]:
    """read and readline of the connection under the development server's limited stream."""
    if isinstance(stream, LimitedStream):
        read, readline = getattr(stream, "_read", None), getattr(stream, "_readline", None)
        if callable(read) and callable(readline):
            return read, readline
    raise LengthRequired("This server cannot read a chunked upload: send a Content-Length header.")


def _sized(request: HttpRequest, length: int, chunk_size: int) -> Iterator[bytes]:
    remaining = length
    while remaining > 0:
        chunk = request.read(min(chunk_size, remaining))
        if not chunk:
            return  # the client went away: the service sees fewer bytes than declared
        remaining -= len(chunk)
        yield chunk


def _until_eof(read: Callable[[int], bytes], chunk_size: int) -> Iterator[bytes]:
    while chunk := read(chunk_size):
        yield chunk


def _limited(chunks: Iterator[bytes], max_size: int) -> Iterator[bytes]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > max_size:
            raise BodyTooLarge(_too_large(max_size))
        yield chunk


def _line(readline: Callable[[int], bytes], what: str) -> bytes:
    line = readline(MAX_LINE + 1)
    if not line:
        raise Interrupted("The upload was interrupted before its end.")
    if len(line) > MAX_LINE:
        raise MalformedBody(f"The chunked body's {what} is too long.")
    if not line.endswith(b"\r\n"):
        if line.endswith(b"\n"):
            raise MalformedBody(f"The chunked body's {what} does not end with CRLF.")
        raise Interrupted("The upload was interrupted before its end.")
    return line[:-2]


def _chunk_size(line: bytes) -> int:
    size, _, _extensions = line.partition(b";")
    size = size.rstrip(b" \t")  # whitespace before an extension (RFC 9112 "BWS")
    if not size or len(size) > 16 or not HEX.issuperset(size):
        shown = line[:40].decode("ascii", "replace")
        raise MalformedBody(f"The chunked body has a bad chunk size {shown!r}.")
    return int(size, 16)


def _dechunked(
    read: Callable[[int], bytes], readline: Callable[[int], bytes], chunk_size: int
) -> Iterator[bytes]:
    """RFC 9112 section 7.1: chunks (size in hex, optional extensions, CRLF, data, CRLF), a last
    chunk of size 0, optional trailer fields, CRLF. Extensions and trailers are read and ignored."""
    while True:
        remaining = _chunk_size(_line(readline, "chunk size line"))
        if remaining == 0:
            break
        while remaining > 0:
            data = read(min(chunk_size, remaining))
            if not data:
                raise Interrupted("The upload was interrupted before its end.")
            remaining -= len(data)
            yield data
        end = read(2)
        if len(end) < 2:
            raise Interrupted("The upload was interrupted before its end.")
        if end != b"\r\n":
            raise MalformedBody("A chunk of the chunked body is longer than its size, or lacks its CRLF.")
    trailers = 0
    while line := _line(readline, "trailer section"):
        trailers += len(line)
        if trailers > MAX_TRAILERS or b":" not in line:
            raise MalformedBody("The chunked body's trailer section is malformed.")
