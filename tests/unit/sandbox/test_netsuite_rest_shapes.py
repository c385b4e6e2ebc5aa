"""The NetSuite sandbox's REST JSON <-> record shapes where REST and SOAP differ."""

from __future__ import annotations

import pytest

from sandbox.netsuite.rest import RestError, to_rest, to_store


def test_given_an_apply_line_then_its_document_is_a_reference_in_rest_and_a_long_in_the_store():
    stored = to_store({"apply": {"items": [{"doc": {"id": "44", "refName": "Invoice #INV44"}, "apply": True}]}})
    assert stored["applyList"] == [{"doc": 44, "apply": True}]
    assert to_rest(stored, expand=True)["apply"]["items"] == [{"doc": {"id": "44"}, "apply": True, "links": []}]


@pytest.mark.parametrize("doc", [44, "44", {"externalId": "AMZ-INV-1"}, {"id": "INV44"}])
def test_given_an_apply_line_whose_document_is_not_a_reference_by_id_then_refused(doc):
    with pytest.raises(RestError) as refused:
        to_store({"apply": {"items": [{"doc": doc, "apply": True}]}})
    assert refused.value.code == "INVALID_VALUE" and "field doc" in str(refused.value)
