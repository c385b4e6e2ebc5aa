"""Report documents: decompress and decode them with the charset Amazon declares.

Amazon serves report documents from S3 with ``Content-Type: text/plain;charset=...``. US documents
are UTF-8; EU flat files are often ``Cp1252`` (Java's name for windows-1252) and Japanese ones
``windows-31j``. Decoding everything as UTF-8 corrupts or rejects umlauts and pound signs.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from email.message import Message

from amazon_netsuite.amazon.errors import ReportDocumentDecodeError

#: Java charset names Amazon uses -> Python codecs.
JAVA_CHARSETS = {"cp1252": "cp1252", "windows-31j": "cp932", "x-sjis": "shift_jis", "ms932": "cp932"}
#: Amazon's historical default when a document declares no charset (what python-amazon-sp-api assumes too).
FALLBACK_CHARSET = "iso-8859-1"


def charset_from_content_type(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header, or None."""
    if not content_type:
        return None
    message = Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    return str(charset).strip() if charset else None


def python_codec(charset: str) -> str:
    """Python's codec for an HTTP/Java charset name; raises ReportDocumentDecodeError if unknown."""
    name = JAVA_CHARSETS.get(charset.lower(), charset)
    try:
        return codecs.lookup(name).name
    except LookupError as exc:
        raise ReportDocumentDecodeError(
            f"Amazon declared charset {charset!r} for a report document and Python has no codec for it; "
            "add it to amazon_netsuite.amazon.documents.JAVA_CHARSETS"
        ) from exc


def decode_document(content: bytes, *, compression: str | None, content_type: str | None, document_id: str = "") -> str:
    """The text of a report document: gunzipped when ``compression`` is GZIP, decoded with its charset."""
    if compression:
        if compression.upper() != "GZIP":
            raise ReportDocumentDecodeError(f"report document {document_id} uses unsupported compression {compression!r}")
        try:
            content = gzip.decompress(content)
        except (OSError, EOFError, zlib.error) as exc:
            raise ReportDocumentDecodeError(
                f"report document {document_id} declares GZIP but is not a valid gzip stream ({exc}); download it again"
            ) from exc
    declared = charset_from_content_type(content_type)
    codec = python_codec(declared or FALLBACK_CHARSET)
    try:
        text = content.decode(codec)
    except UnicodeDecodeError as exc:
        raise ReportDocumentDecodeError(
            f"report document {document_id} is not valid {declared or FALLBACK_CHARSET} "
            f"(byte {exc.start}): Amazon declared {content_type!r}"
        ) from exc
    return text.removeprefix("\ufeff")
