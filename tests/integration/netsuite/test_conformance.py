"""Conformance: the SOAP requests the suite sends and the emulator's answers validate against the
2023_2 XSDs (xmlschema), once per operation, requests and responses both."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import xmlschema
from lxml import etree
from zeep import Plugin

from amazon_netsuite.netsuite.records import (
    JournalLine,
    SalesOrderLine,
    build_customer,
    build_journal_entry,
    build_sales_order,
    ref,
)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


@pytest.fixture(scope="session")
def netsuite_xsd(reference_dir: Path) -> xmlschema.XMLSchema:
    folder = reference_dir / "netsuite-wsdl-2023_2"
    wsdl = (folder / "netsuite.wsdl").read_text()
    imports = re.findall(r'<xsd:import namespace="([^"]+)" schemaLocation="\./xsd/([^"]+)"/>', wsdl)
    source = (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:conformance">'
        + "".join(f'<xs:import namespace="{ns}" schemaLocation="{(folder / "xsd" / loc).as_uri()}"/>' for ns, loc in imports)
        + "</xs:schema>"
    )
    return xmlschema.XMLSchema(source, base_url=str(folder / "xsd"))


class Capture(Plugin):
    def __init__(self) -> None:
        self.sent: list[tuple[str, etree._Element]] = []
        self.received: list[tuple[str, etree._Element]] = []

    def egress(self, envelope, http_headers, operation, binding_options):
        self.sent.append((operation.name, envelope))
        return envelope, http_headers

    def ingress(self, envelope, http_headers, operation):
        self.received.append((operation.name, envelope))
        return envelope, http_headers


def _parts(envelope: etree._Element) -> list[etree._Element]:
    """Header entries and the body's payload (or the fault's NetSuite detail)."""
    parts = list(envelope.find(f"{{{SOAP_ENV}}}Header") if envelope.find(f"{{{SOAP_ENV}}}Header") is not None else [])
    body = envelope.find(f"{{{SOAP_ENV}}}Body")
    payload = body[0]
    if payload.tag == f"{{{SOAP_ENV}}}Fault":
        parts.extend(child for child in payload.find("detail") if child.tag.startswith("{urn:faults_"))
    else:
        parts.append(payload)
    return parts


def test_given_every_operation_when_exchanged_then_requests_and_responses_match_the_2023_2_xsds(
    hook, admin, netsuite_xsd
):
    capture = Capture()
    plugins = hook.backend.client._client.plugins
    plugins.append(capture)
    try:
        customer = build_customer(external_id="CONF-CU-1", subsidiary_id=2, first_name="A", last_name="B")
        so = build_sales_order(
            external_id="AMZ-SO-CONF-1", customer=ref(100), subsidiary_id=2, currency_id=1,
            tran_date=date(2024, 5, 1), location_id=1, shipping_cost=Decimal("4.99"),
            lines=[SalesOrderLine(item_id=501, quantity=Decimal(1), rate=Decimal("9.99"), tax_code_id=51, tax_amount=Decimal("0.80"))],
            custom_field_values={"custbody_amazon_order_id": "113-0000000-0000001", "custbody_flag": True},
        )
        backend = hook.backend
        hook.upsert_records("customer", [customer, dict(customer, externalId="CONF-CU-2", subsidiary=ref(99))])
        hook.add_records("salesOrder", [so])
        hook.update_records("salesOrder", [{"externalId": "AMZ-SO-CONF-1", "memo": "updated"}])
        backend.call("add", record=backend.build_record("customer", dict(customer, externalId="CONF-CU-3")))
        backend.call("upsert", record=backend.build_record("customer", customer))
        backend.call("update", record=backend.build_record("customer", {"externalId": "CONF-CU-3", "phone": "555"}))
        hook.get_record("salesOrder", external_id="AMZ-SO-CONF-1")
        hook.get_record("customer", internal_id="424242")
        hook.get_records("inventoryItem", ["501", "502"])
        hook.search_by_external_ids("salesOrder", ["AMZ-SO-CONF-1"])
        hook.search_customers_by_email("conf@example.invalid")
        backend.search_more(backend.search("inventoryItem", {"modified_after": datetime(2000, 1, 1, tzinfo=UTC)}).search_id, 1)
        hook.item_availability(["501", "506"], since=datetime(2000, 1, 1, tzinfo=UTC))
        je = build_journal_entry(
            external_id="AMZ-JE-CONF-1", subsidiary_id=2, currency_id=1, tran_date=date(2026, 11, 14),
            memo="conformance", custom_field_values={"custbody_amazon_settlement_id": "CONF-1"},
            lines=[
                JournalLine(1210, credit=Decimal("100.00"), memo="clearing"),
                JournalLine(6110, debit=Decimal("15.00"), department_id=1, class_id=1, location_id=2),
                JournalLine(1010, debit=Decimal("85.00"), entity_id=100),
            ],
        )
        closed = dict(je, externalId="AMZ-JE-CONF-2", tranDate=date(2026, 1, 15))
        unbalanced = dict(je, externalId="AMZ-JE-CONF-3", lineList=[*je["lineList"][:2], dict(je["lineList"][2], debit=Decimal(1))])
        hook.add_records("journalEntry", [je])
        hook.upsert_records("journalEntry", [je, closed, unbalanced])
        backend.call("upsert", record=backend.build_record("journalEntry", dict(je, memo="single upsert")))
        hook.get_records("journalEntry", ["AMZ-JE-CONF-1"], by="externalId")
        hook.search_by_external_ids("journalEntry", ["AMZ-JE-CONF-1"])
        hook.get_accounting_periods()
        hook.get_records("salesTaxItem", ["31", "51"])
        hook.get_records("otherChargeSaleItem", ["601", "611"])
        hook.search_by_external_ids("salesTaxItem", ["NONE"])
        list(hook.iter_customers_by_email(operator="contains", value="@example.invalid"))
        taxed = build_sales_order(
            external_id="AMZ-SO-CONF-TAX", customer=ref(101), subsidiary_id=4, currency_id=3, tran_date=date(2026, 11, 2),
            location_id=7, shipping_cost=Decimal("3.99"), shipping_tax_code_id=31,
            lines=[SalesOrderLine(item_id=501, quantity=Decimal(1), rate=Decimal("10.00"), tax_code_id=31),
                   SalesOrderLine(item_id=603, quantity=Decimal(1), rate=Decimal("2.00"))],
        )
        hook.upsert_records("salesOrder", [taxed, dict(taxed, externalId="AMZ-SO-CONF-TAX-2", itemList=[
            dict(taxed["itemList"][0], taxCode={"internalId": "41"})])])
        admin.post("/_sandbox/config", json={"concurrency_limit": 1, "latency_ms": 0})
        admin.post("/_sandbox/faults", json={"operation": "get", "fault": "ExceededConcurrentRequestLimitFault"})
        hook.get_record("customer", internal_id="100")
    finally:
        plugins.remove(capture)

    operations = {name for name, _ in capture.sent}
    assert {
        "add", "addList", "update", "updateList", "upsert", "upsertList", "get", "getList",
        "search", "searchMoreWithId", "getItemAvailability",
    } <= operations
    errors = []
    for direction, exchanges in (("request", capture.sent), ("response", capture.received)):
        for name, envelope in exchanges:
            for part in _parts(envelope):
                for error in netsuite_xsd.iter_errors(part):
                    errors.append(f"{direction} {name} {etree.QName(part).localname}: {error.reason} at {error.path}")
    assert not errors, "\n".join(errors[:20])
    custom = [e for name, e in capture.sent if name == "addList"][0].xpath("//*[local-name()='customField']")
    xsi_type = "{http://www.w3.org/2001/XMLSchema-instance}type"
    assert sorted(node.get(xsi_type).split(":")[-1] for node in custom) == ["BooleanCustomFieldRef", "StringCustomFieldRef"]
    faults = [e for _, e in capture.received if e.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault") is not None]
    assert faults, "the concurrency fault was validated too"
    je_writes = [e for name, e in capture.sent if name in ("addList", "upsertList", "upsert") and e.xpath("//*[local-name()='lineList']")]
    assert len(je_writes) == 3
    assert {node.get("replaceAll") for e in je_writes for node in e.xpath("//*[local-name()='lineList']")} == {"false"}
    codes = {node.text for _, e in capture.received for node in e.xpath("//*[local-name()='statusDetail']/*[local-name()='code']")}
    assert {"TRAN_PERIOD_CLOSED", "JE_AMOUNTS_MUST_BALANCE", "INVALID_KEY_OR_REF"} <= codes
