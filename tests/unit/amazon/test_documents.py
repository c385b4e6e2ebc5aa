from __future__ import annotations

import gzip

import pytest

from amazon_netsuite.amazon.documents import charset_from_content_type, decode_document
from amazon_netsuite.amazon.errors import ReportDocumentDecodeError

EU_TEXT = "settlement-id\tamount\n1\t1.234,56\nMüller £ € Straße\n"


class TestDecodeDocument:
    def test_given_a_cp1252_eu_file_when_decoding_then_the_declared_java_charset_is_honoured(self):
        raw = EU_TEXT.encode("cp1252")

        assert decode_document(raw, compression=None, content_type="text/plain;charset=Cp1252") == EU_TEXT

    def test_given_a_gzip_document_when_decoding_then_it_is_decompressed_first(self):
        raw = gzip.compress(EU_TEXT.encode("utf-8"))

        assert decode_document(raw, compression="GZIP", content_type="text/plain; charset=UTF-8") == EU_TEXT

    def test_given_no_declared_charset_when_decoding_then_amazons_iso_8859_1_default_applies(self):
        assert decode_document("Köln".encode("latin-1"), compression=None, content_type="text/plain") == "Köln"

    def test_given_a_utf8_bom_when_decoding_then_it_is_dropped(self):
        assert decode_document("\ufeffa\tb\n".encode(), compression=None, content_type="text/plain;charset=UTF-8") == "a\tb\n"

    def test_given_bytes_invalid_for_the_declared_charset_when_decoding_then_the_error_names_the_document(self):
        with pytest.raises(ReportDocumentDecodeError, match="report document D1 is not valid UTF-8"):
            decode_document(b"\xff\xfe\xfa", compression=None, content_type="text/plain;charset=UTF-8", document_id="D1")

    def test_given_gzip_declared_but_plain_bytes_when_decoding_then_it_says_to_download_again(self):
        with pytest.raises(ReportDocumentDecodeError, match="not a valid gzip stream"):
            decode_document(b"plain", compression="GZIP", content_type=None)

    def test_given_an_unknown_charset_when_decoding_then_the_error_says_where_to_map_it(self):
        with pytest.raises(ReportDocumentDecodeError, match="JAVA_CHARSETS"):
            decode_document(b"x", compression=None, content_type="text/plain;charset=x-unknown-42")

    @pytest.mark.parametrize("content_type, charset", [
        ("text/plain;charset=Cp1252", "Cp1252"),
        ('text/plain; charset="UTF-8"', "UTF-8"),
        ("text/plain", None),
        (None, None),
    ])
    def test_given_content_types_when_parsing_then_the_charset_parameter_is_read(self, content_type, charset):
        assert charset_from_content_type(content_type) == charset
