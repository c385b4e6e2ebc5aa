from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import requests
import zeep
from lxml import etree
from netsuitesdk.internal.exceptions import NetSuiteRateLimitError
from zeep.exceptions import Fault, TransportError

from amazon_netsuite.netsuite.errors import (
    NetSuiteAuthError,
    NetSuiteRequestError,
    NetSuiteThrottledError,
    NetSuiteUnavailableError,
)
from amazon_netsuite.netsuite.soap import RECORD_TYPES, SEARCH_TYPES, from_soap, to_soap, translate_error

FAULTS_NS = "urn:faults_2023_2.platform.webservices.netsuite.com"
SALES = "urn:sales_2023_2.transactions.webservices.netsuite.com"


@pytest.fixture(scope="module")
def wsdl(reference_dir):
    return zeep.Client(str(reference_dir / "netsuite-wsdl-2023_2" / "netsuite.wsdl"))


def fault(element: str, code: str, message: str) -> Fault:
    detail = etree.Element("detail")
    node = etree.SubElement(detail, f"{{{FAULTS_NS}}}{element}")
    etree.SubElement(node, f"{{{FAULTS_NS}}}code").text = code
    etree.SubElement(node, f"{{{FAULTS_NS}}}message").text = message
    return Fault(message=message, code="soapenv:Server.userException", detail=detail)


class TestTranslateError:
    @pytest.mark.parametrize(
        ("element", "code", "expected"),
        [
            ("exceededConcurrentRequestLimitFault", "WS_REQUEST_BLOCKED", NetSuiteThrottledError),
            ("exceededRequestLimitFault", "WS_CONCUR_SESSION_DISALLWD", NetSuiteThrottledError),
            ("invalidCredentialsFault", "INVALID_LOGIN_ATTEMPT", NetSuiteAuthError),
            ("unexpectedErrorFault", "UNEXPECTED_ERROR", NetSuiteUnavailableError),
            ("exceededRecordCountFault", "MAX_RCRDS_EXCEEDED", NetSuiteRequestError),
        ],
    )
    def test_given_a_netsuite_fault_then_the_matching_error(self, element, code, expected):
        error = translate_error(fault(element, code, "msg"), "upsertList")
        assert type(error) is expected and error.code == code and error.operation == "upsertList"

    def test_given_netsuitesdk_rate_limit_wrapping_a_fault_then_throttled_with_the_code(self):
        try:
            try:
                raise fault("exceededConcurrentRequestLimitFault", "WS_REQUEST_BLOCKED", "blocked")
            except Fault as exc:
                raise NetSuiteRateLimitError(str(exc)) from None
        except NetSuiteRateLimitError as exc:
            error = translate_error(exc, "get")
        assert isinstance(error, NetSuiteThrottledError) and error.code == "WS_REQUEST_BLOCKED"

    @pytest.mark.parametrize(("status", "expected"), [(503, NetSuiteUnavailableError), (429, NetSuiteUnavailableError), (400, NetSuiteRequestError)])
    def test_given_an_http_error_then_retryable_only_for_5xx_and_429(self, status, expected):
        assert isinstance(translate_error(TransportError("x", status_code=status), "get"), expected)

    @pytest.mark.parametrize("exc", [requests.exceptions.ConnectTimeout(), requests.exceptions.ConnectionError()])
    def test_given_a_network_error_then_unavailable(self, exc):
        assert isinstance(translate_error(exc, "get"), NetSuiteUnavailableError)

    def test_given_an_error_page_then_unavailable(self):
        assert isinstance(translate_error(Fault("Unknown fault occured", detail=b"<html/>"), "get"), NetSuiteUnavailableError)

    def test_given_an_auth_error_then_the_message_says_what_to_check(self):
        assert "netsuite_default" in str(translate_error(fault("invalidCredentialsFault", "INVALID_LOGIN_ATTEMPT", "Invalid login attempt."), "get"))


class TestConversion:
    def test_given_every_mapped_record_type_then_the_wsdl_has_it(self, wsdl):
        for module, group, name in RECORD_TYPES.values():
            assert wsdl.get_type(f"{{urn:{module}_2023_2.{group}.webservices.netsuite.com}}{name}")
        for search, _ in set(SEARCH_TYPES.values()):
            assert wsdl.get_type(f"{{urn:common_2023_2.platform.webservices.netsuite.com}}{search}")

    def test_given_a_sales_order_dict_then_sublists_get_replace_all_false_and_round_trip(self, wsdl):
        sales_order = wsdl.get_type(f"{{{SALES}}}SalesOrder")
        data = {
            "externalId": "AMZ-SO-1",
            "entity": {"internalId": "100"},
            "tranDate": date(2024, 5, 1),
            "class": {"internalId": "1"},
            "itemList": [{"line": 1, "item": {"internalId": "501"}, "quantity": Decimal(2), "amount": Decimal("19.98")}],
        }
        value = to_soap(sales_order, data, replace_all=False)
        assert value.itemList.replaceAll is False
        assert value.tranDate == datetime(2024, 5, 1, 12, tzinfo=UTC)
        back = from_soap(value)
        assert back["itemList"][0]["amount"] == Decimal("19.98")
        assert back["entity"] == {"internalId": "100"} and back["class"] == {"internalId": "1"}

    def test_given_an_unknown_field_then_value_error_naming_it(self, wsdl):
        with pytest.raises(ValueError, match="'colour'"):
            to_soap(wsdl.get_type(f"{{{SALES}}}SalesOrder"), {"colour": "red"})


CORE = "urn:core_2023_2.platform.webservices.netsuite.com"


class TestCustomFields:
    def test_given_string_custom_fields_then_concrete_string_custom_field_refs_that_round_trip(self, wsdl):
        sales_order = wsdl.get_type(f"{{{SALES}}}SalesOrder")
        data = {"externalId": "AMZ-SO-1", "customFieldList": [
            {"scriptId": "custbody_amazon_order_id", "value": "113-1234567-1234567"},
            {"scriptId": "custbody_flag", "value": True},
            {"scriptId": "custbody_fee", "value": Decimal("1.10")},
        ]}
        value = to_soap(sales_order, data, custom_field_type=lambda name: wsdl.get_type(f"{{{CORE}}}{name}"))

        kinds = [field._xsd_type.name for field in value.customFieldList.customField]
        assert kinds == ["StringCustomFieldRef", "BooleanCustomFieldRef", "DoubleCustomFieldRef"]
        node = etree.Element("record")
        sales_order.render(node, value)
        xsi_types = node.xpath("//*[local-name()='customField']/@*[local-name()='type']")
        assert [t.split(":")[-1] for t in xsi_types] == kinds
        assert from_soap(value)["customFieldList"][0] == {"scriptId": "custbody_amazon_order_id", "value": "113-1234567-1234567"}

    def test_given_a_float_custom_field_then_type_error(self, wsdl):
        with pytest.raises(TypeError, match="float"):
            to_soap(
                wsdl.get_type(f"{{{SALES}}}SalesOrder"),
                {"customFieldList": [{"scriptId": "custbody_x", "value": 1.1}]},
                custom_field_type=lambda name: wsdl.get_type(f"{{{CORE}}}{name}"),
            )


class TestAuthAndMalformedMapping:
    @pytest.mark.parametrize("status", [401, 403])
    def test_given_http_401_or_403_then_auth_error_never_retried(self, status):
        error = translate_error(TransportError("x", status_code=status), "get")
        assert isinstance(error, NetSuiteAuthError) and error.code == f"HTTP_{status}" and error.reason == "auth_failed"

    @pytest.mark.parametrize("status", [401, 403])
    def test_given_an_error_page_with_401_or_403_then_auth_error(self, status):
        error = translate_error(Fault("Unknown fault occured", detail=b"<html/>"), "get", http_status=status)
        assert isinstance(error, NetSuiteAuthError)

    def test_given_an_error_page_with_503_then_unavailable(self):
        error = translate_error(Fault("Unknown fault occured", detail=b"<html/>"), "get", http_status=503)
        assert isinstance(error, NetSuiteUnavailableError) and error.code == "HTTP_503"

    @pytest.mark.parametrize("element", ["invalidSessionFault", "invalidAccountFault", "insufficientPermissionFault"])
    def test_given_a_session_account_or_permission_fault_then_auth_error(self, element):
        assert isinstance(translate_error(fault(element, "USER_ERROR", "no"), "get"), NetSuiteAuthError)

    def test_given_a_login_error_then_auth_error(self):
        from netsuitesdk.internal.exceptions import NetSuiteLoginError

        error = translate_error(NetSuiteLoginError("Invalid login attempt.", code="INVALID_LOGIN_ATTEMPT"), "login")
        assert isinstance(error, NetSuiteAuthError) and error.code == "INVALID_LOGIN_ATTEMPT"

    def test_given_a_request_size_fault_then_too_large(self):
        from amazon_netsuite.netsuite.errors import NetSuiteRequestTooLargeError

        error = translate_error(fault("exceededRequestSizeFault", "EXCEEDED_RQST_SIZE_LIMIT", "too big"), "upsertList")
        assert isinstance(error, NetSuiteRequestTooLargeError) and error.reason == "netsuite_rejected"

    def test_given_an_answer_that_does_not_match_the_wsdl_then_malformed_and_retryable(self):
        from amazon_netsuite.netsuite.errors import NetSuiteMalformedResponseError, NetSuiteRetryableError

        error = translate_error(zeep.exceptions.XMLParseError("Unexpected element"), "search")
        assert isinstance(error, NetSuiteMalformedResponseError) and isinstance(error, NetSuiteRetryableError)
        assert isinstance(translate_error(TransportError("bad", status_code=200), "search"), NetSuiteMalformedResponseError)

    def test_given_new_record_types_then_mapped_to_the_wsdl(self, wsdl):
        for name in ("salesTaxItem", "otherChargeSaleItem", "inventoryAdjustment", "transferOrder", "itemReceipt"):
            module, group, type_name = RECORD_TYPES[name]
            assert wsdl.get_type(f"{{urn:{module}_2023_2.{group}.webservices.netsuite.com}}{type_name}")
            assert name in SEARCH_TYPES
