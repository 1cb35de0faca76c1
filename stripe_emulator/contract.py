"""Requests checked against the official SDK's own parameter types, as Stripe checks them.

Every ``/v1/...`` route that is a Stripe API method is listed in ``PARAMS`` with the SDK's
``*Params`` TypedDict for that method (``stripe.params``). ``check`` walks the parsed
request against it at runtime (``typing.get_type_hints``, ``__required_keys__``, nested
TypedDicts, ``List[...]``, ``Dict[str, str]``, ``Literal`` unions) and answers as Stripe does:

- a parameter the method does not have (at any depth): 400 ``parameter_unknown``,
  "Received unknown parameter: items[0][foo]";
- a required parameter left out: 400 ``parameter_missing``, "Missing required param: x.";
- a string outside an enum: 400 ``parameter_invalid_string``,
  "Invalid proration_behavior: must be one of always_invoice, create_prorations, or none".

The SDK types enums as ``Literal['a', 'b'] | str`` (new values must not break old SDKs);
the Literal values are the enum. ``Literal[''] | str`` is any string or "" (unset).
Ints, booleans and numbers arrive as strings in form bodies: their checks stay in the
handlers; here a numeric string only counts when it decides which branch of a union fits
(``cancel_at``: a timestamp or one of its keywords).

Routes that are not SDK methods are listed in ``UNCHECKED`` with the reason.
"""

from __future__ import annotations

import re
import typing
from decimal import Decimal
from functools import cache
from typing import Any, Literal, NotRequired, Required, Union, get_args, get_origin

import stripe._request_options
import stripe.params as p
from stripe._request_options import RequestOptions
from stripe._stripe_context import StripeContext
from stripe._stripe_object import UntypedStripeObject

from stripe_emulator.protocol import Obj, StripeError

# (HTTP method, route pattern) -> the SDK Params TypedDict of that Stripe method. Entries for
# routes the router does not serve are harmless: they are only read for served routes.
PARAMS: dict[tuple[str, str], object] = {
    ("GET", "/v1/billing_portal/configurations"): p.billing_portal.ConfigurationListParams,
    ("POST", "/v1/billing_portal/configurations"): p.billing_portal.ConfigurationCreateParams,
    ("GET", "/v1/billing_portal/configurations/{id}"): p.billing_portal.ConfigurationRetrieveParams,
    ("POST", "/v1/billing_portal/configurations/{id}"): p.billing_portal.ConfigurationUpdateParams,
    ("POST", "/v1/billing_portal/sessions"): p.billing_portal.SessionCreateParams,
    ("GET", "/v1/checkout/sessions"): p.checkout.SessionListParams,
    ("POST", "/v1/checkout/sessions"): p.checkout.SessionCreateParams,
    ("GET", "/v1/checkout/sessions/{id}"): p.checkout.SessionRetrieveParams,
    ("POST", "/v1/checkout/sessions/{id}"): p.checkout.SessionUpdateParams,
    ("POST", "/v1/checkout/sessions/{id}/expire"): p.checkout.SessionExpireParams,
    ("GET", "/v1/checkout/sessions/{id}/line_items"): p.checkout.SessionLineItemListParams,
    ("GET", "/v1/customers"): p.CustomerListParams,
    ("POST", "/v1/customers"): p.CustomerCreateParams,
    ("GET", "/v1/customers/search"): p.CustomerSearchParams,
    ("GET", "/v1/customers/{id}"): p.CustomerRetrieveParams,
    ("POST", "/v1/customers/{id}"): p.CustomerUpdateParams,
    ("DELETE", "/v1/customers/{id}"): p.CustomerDeleteParams,
    ("GET", "/v1/customers/{id}/payment_methods"): p.CustomerPaymentMethodListParams,
    (
        "GET",
        "/v1/customers/{id}/payment_methods/{payment_method}",
    ): p.CustomerPaymentMethodRetrieveParams,
    ("GET", "/v1/events"): p.EventListParams,
    ("GET", "/v1/events/{id}"): p.EventRetrieveParams,
    ("GET", "/v1/invoice_payments"): p.InvoicePaymentListParams,
    ("GET", "/v1/invoice_payments/{id}"): p.InvoicePaymentRetrieveParams,
    ("GET", "/v1/invoiceitems"): p.InvoiceItemListParams,
    ("POST", "/v1/invoiceitems"): p.InvoiceItemCreateParams,
    ("GET", "/v1/invoiceitems/{id}"): p.InvoiceItemRetrieveParams,
    ("POST", "/v1/invoiceitems/{id}"): p.InvoiceItemUpdateParams,
    ("DELETE", "/v1/invoiceitems/{id}"): p.InvoiceItemDeleteParams,
    ("GET", "/v1/invoices"): p.InvoiceListParams,
    ("POST", "/v1/invoices"): p.InvoiceCreateParams,
    ("POST", "/v1/invoices/create_preview"): p.InvoiceCreatePreviewParams,
    ("GET", "/v1/invoices/search"): p.InvoiceSearchParams,
    ("GET", "/v1/invoices/{id}"): p.InvoiceRetrieveParams,
    ("POST", "/v1/invoices/{id}"): p.InvoiceUpdateParams,
    ("DELETE", "/v1/invoices/{id}"): p.InvoiceDeleteParams,
    ("POST", "/v1/invoices/{id}/add_lines"): p.InvoiceAddLinesParams,
    ("POST", "/v1/invoices/{id}/attach_payment"): p.InvoiceAttachPaymentParams,
    ("POST", "/v1/invoices/{id}/finalize"): p.InvoiceFinalizeInvoiceParams,
    ("GET", "/v1/invoices/{id}/lines"): p.InvoiceLineItemListParams,
    ("POST", "/v1/invoices/{id}/lines/{line}"): p.InvoiceLineItemUpdateParams,
    ("POST", "/v1/invoices/{id}/mark_uncollectible"): p.InvoiceMarkUncollectibleParams,
    ("POST", "/v1/invoices/{id}/pay"): p.InvoicePayParams,
    ("POST", "/v1/invoices/{id}/remove_lines"): p.InvoiceRemoveLinesParams,
    ("POST", "/v1/invoices/{id}/send"): p.InvoiceSendInvoiceParams,
    ("POST", "/v1/invoices/{id}/update_lines"): p.InvoiceUpdateLinesParams,
    ("POST", "/v1/invoices/{id}/void"): p.InvoiceVoidInvoiceParams,
    ("GET", "/v1/payment_intents"): p.PaymentIntentListParams,
    ("POST", "/v1/payment_intents"): p.PaymentIntentCreateParams,
    ("GET", "/v1/payment_intents/search"): p.PaymentIntentSearchParams,
    ("GET", "/v1/payment_intents/{id}"): p.PaymentIntentRetrieveParams,
    ("POST", "/v1/payment_intents/{id}"): p.PaymentIntentUpdateParams,
    (
        "GET",
        "/v1/payment_intents/{id}/amount_details_line_items",
    ): p.PaymentIntentAmountDetailsLineItemListParams,
    (
        "POST",
        "/v1/payment_intents/{id}/apply_customer_balance",
    ): p.PaymentIntentApplyCustomerBalanceParams,
    ("POST", "/v1/payment_intents/{id}/cancel"): p.PaymentIntentCancelParams,
    ("POST", "/v1/payment_intents/{id}/capture"): p.PaymentIntentCaptureParams,
    ("POST", "/v1/payment_intents/{id}/confirm"): p.PaymentIntentConfirmParams,
    (
        "POST",
        "/v1/payment_intents/{id}/increment_authorization",
    ): p.PaymentIntentIncrementAuthorizationParams,
    (
        "POST",
        "/v1/payment_intents/{id}/verify_microdeposits",
    ): p.PaymentIntentVerifyMicrodepositsParams,
    ("GET", "/v1/payment_methods"): p.PaymentMethodListParams,
    ("POST", "/v1/payment_methods"): p.PaymentMethodCreateParams,
    ("GET", "/v1/payment_methods/{payment_method}"): p.PaymentMethodRetrieveParams,
    ("POST", "/v1/payment_methods/{payment_method}"): p.PaymentMethodUpdateParams,
    ("POST", "/v1/payment_methods/{id}/attach"): p.PaymentMethodAttachParams,
    ("POST", "/v1/payment_methods/{id}/detach"): p.PaymentMethodDetachParams,
    ("GET", "/v1/prices"): p.PriceListParams,
    ("POST", "/v1/prices"): p.PriceCreateParams,
    ("GET", "/v1/prices/{id}"): p.PriceRetrieveParams,
    ("POST", "/v1/prices/{id}"): p.PriceUpdateParams,
    ("GET", "/v1/products"): p.ProductListParams,
    ("POST", "/v1/products"): p.ProductCreateParams,
    ("GET", "/v1/products/{id}"): p.ProductRetrieveParams,
    ("POST", "/v1/products/{id}"): p.ProductUpdateParams,
    ("DELETE", "/v1/products/{id}"): p.ProductDeleteParams,
    ("GET", "/v1/refunds"): p.RefundListParams,
    ("POST", "/v1/refunds"): p.RefundCreateParams,
    ("GET", "/v1/refunds/{id}"): p.RefundRetrieveParams,
    ("POST", "/v1/refunds/{id}"): p.RefundUpdateParams,
    ("POST", "/v1/refunds/{id}/cancel"): p.RefundCancelParams,
    ("GET", "/v1/setup_intents"): p.SetupIntentListParams,
    ("POST", "/v1/setup_intents"): p.SetupIntentCreateParams,
    ("GET", "/v1/setup_intents/{id}"): p.SetupIntentRetrieveParams,
    ("POST", "/v1/setup_intents/{id}"): p.SetupIntentUpdateParams,
    ("POST", "/v1/setup_intents/{id}/cancel"): p.SetupIntentCancelParams,
    ("POST", "/v1/setup_intents/{id}/confirm"): p.SetupIntentConfirmParams,
    ("POST", "/v1/setup_intents/{id}/verify_microdeposits"): p.SetupIntentVerifyMicrodepositsParams,
    ("GET", "/v1/subscription_items"): p.SubscriptionItemListParams,
    ("POST", "/v1/subscription_items"): p.SubscriptionItemCreateParams,
    ("GET", "/v1/subscription_items/{id}"): p.SubscriptionItemRetrieveParams,
    ("POST", "/v1/subscription_items/{id}"): p.SubscriptionItemUpdateParams,
    ("DELETE", "/v1/subscription_items/{id}"): p.SubscriptionItemDeleteParams,
    ("GET", "/v1/subscription_schedules"): p.SubscriptionScheduleListParams,
    ("POST", "/v1/subscription_schedules"): p.SubscriptionScheduleCreateParams,
    ("GET", "/v1/subscription_schedules/{id}"): p.SubscriptionScheduleRetrieveParams,
    ("POST", "/v1/subscription_schedules/{id}"): p.SubscriptionScheduleUpdateParams,
    ("POST", "/v1/subscription_schedules/{id}/cancel"): p.SubscriptionScheduleCancelParams,
    ("POST", "/v1/subscription_schedules/{id}/release"): p.SubscriptionScheduleReleaseParams,
    ("GET", "/v1/subscriptions"): p.SubscriptionListParams,
    ("POST", "/v1/subscriptions"): p.SubscriptionCreateParams,
    ("GET", "/v1/subscriptions/search"): p.SubscriptionSearchParams,
    ("GET", "/v1/subscriptions/{id}"): p.SubscriptionRetrieveParams,
    ("POST", "/v1/subscriptions/{id}"): p.SubscriptionUpdateParams,
    ("DELETE", "/v1/subscriptions/{id}"): p.SubscriptionCancelParams,
    ("DELETE", "/v1/subscriptions/{id}/discount"): p.SubscriptionDeleteDiscountParams,
    ("POST", "/v1/subscriptions/{id}/migrate"): p.SubscriptionMigrateParams,
    ("POST", "/v1/subscriptions/{id}/pause"): p.SubscriptionPauseParams,
    ("POST", "/v1/subscriptions/{id}/resume"): p.SubscriptionResumeParams,
    ("GET", "/v1/test_helpers/test_clocks"): p.test_helpers.TestClockListParams,
    ("POST", "/v1/test_helpers/test_clocks"): p.test_helpers.TestClockCreateParams,
    ("GET", "/v1/test_helpers/test_clocks/{id}"): p.test_helpers.TestClockRetrieveParams,
    ("DELETE", "/v1/test_helpers/test_clocks/{id}"): p.test_helpers.TestClockDeleteParams,
    ("POST", "/v1/test_helpers/test_clocks/{id}/advance"): p.test_helpers.TestClockAdvanceParams,
    ("GET", "/v1/webhook_endpoints"): p.WebhookEndpointListParams,
    ("POST", "/v1/webhook_endpoints"): p.WebhookEndpointCreateParams,
    ("GET", "/v1/webhook_endpoints/{id}"): p.WebhookEndpointRetrieveParams,
    ("POST", "/v1/webhook_endpoints/{id}"): p.WebhookEndpointUpdateParams,
    ("DELETE", "/v1/webhook_endpoints/{id}"): p.WebhookEndpointDeleteParams,
}

# Served routes that are not Stripe API methods, so have no SDK Params class.
UNCHECKED: dict[tuple[str, str], str] = {
    ("POST", "/v1/test_helpers/checkout/sessions/{id}/complete"): (
        "emulator-only test helper: completes a Checkout Session as the hosted page would"
    ),
    ("POST", "/v1/test_helpers/payment_intents/{id}/authenticate"): (
        "emulator-only test helper: the customer passes (outcome=succeed) or fails "
        "(outcome=fail) a PaymentIntent's 3D Secure challenge, as Stripe.js would"
    ),
    ("POST", "/v1/test_helpers/setup_intents/{id}/authenticate"): (
        "emulator-only test helper: the customer passes a SetupIntent's 3D Secure challenge"
    ),
}

_PLACEHOLDER = re.compile(r"\{\w+\}")


def route_key(method: str, pattern: str) -> tuple[str, str]:
    """The table key of a route: placeholder names do not matter (``{id}`` == ``{sub}``)."""
    return method.upper(), _PLACEHOLDER.sub("{}", pattern)


_BY_KEY: dict[tuple[str, str], object] = {route_key(m, r): cls for (m, r), cls in PARAMS.items()}
_UNCHECKED_KEYS = {route_key(m, r) for m, r in UNCHECKED}


def params_class(method: str, pattern: str) -> object | None:
    return _BY_KEY.get(route_key(method, pattern))


def is_unchecked(method: str, pattern: str) -> bool:
    return route_key(method, pattern) in _UNCHECKED_KEYS


def check(method: str, pattern: str, params: Obj) -> None:
    """Raise Stripe's 400 if ``params`` do not fit the SDK Params class of this route."""
    cls = params_class(method, pattern)
    if cls is None:
        return
    problems: list[tuple[int, StripeError]] = []
    _check_dict(cls, params, "", problems)
    if problems:
        # Unknown names first, then missing ones, then bad values; in request order.
        raise min(problems, key=lambda item: item[0])[1]


# ---- the walk --------------------------------------------------------------------------

_UNKNOWN, _MISSING, _INVALID = 0, 1, 2


# The SDK's top-level Params classes extend RequestOptions (api_key, stripe_account,
# idempotency_key, ...): the SDK turns those into headers, they are never API parameters.
_REQUEST_OPTIONS = frozenset(RequestOptions.__annotations__)
# Names those inherited annotations use (imported there only for type checking).
_OPTIONS_NAMES = {**vars(stripe._request_options), "StripeContext": StripeContext}


@cache
def _fields(cls: object) -> tuple[dict[str, Any], frozenset[str]]:
    hints = typing.get_type_hints(cls, localns=_OPTIONS_NAMES, include_extras=True)
    if _REQUEST_OPTIONS <= hints.keys():
        hints = {k: v for k, v in hints.items() if k not in _REQUEST_OPTIONS}
    fields = {name: _strip(tp) for name, tp in hints.items()}
    required: frozenset[str] = getattr(cls, "__required_keys__", frozenset())
    return fields, required


def _strip(tp: Any) -> Any:
    while get_origin(tp) in (NotRequired, Required):
        tp = get_args(tp)[0]
    return tp


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and hasattr(tp, "__required_keys__")


def _name(prefix: str, key: str | int) -> str:
    return f"{prefix}[{key}]" if prefix else str(key)


def _check_dict(cls: object, value: Obj, prefix: str, out: list[tuple[int, StripeError]]) -> None:
    fields, required = _fields(cls)
    for key in value:
        if key in fields or (not prefix and key == "expand"):
            continue
        name = _name(prefix, key)
        out.append(
            (
                _UNKNOWN,
                StripeError(
                    400,
                    f"Received unknown parameter: {name}",
                    code="parameter_unknown",
                    param=name,
                ),
            )
        )
    for key in sorted(required):
        if key not in value:
            name = _name(prefix, key)
            out.append(
                (
                    _MISSING,
                    StripeError(
                        400,
                        f"Missing required param: {name}.",
                        code="parameter_missing",
                        param=name,
                    ),
                )
            )
    for key, child in value.items():
        if key in fields:
            _check_value(fields[key], child, _name(prefix, key), out)


def _check_value(tp: Any, value: Any, name: str, out: list[tuple[int, StripeError]]) -> None:
    if value is None:  # a JSON null: unset, as the SDK leaves out None values
        return
    origin = get_origin(tp)
    branches = list(get_args(tp)) if origin is Union else [tp]
    if isinstance(value, dict):
        if any(_open_dict(b) for b in branches):
            return
        for branch in branches:
            if _is_typeddict(branch):
                _check_dict(branch, value, name, out)
                return
        return  # not a hash in the SDK types: the handler decides
    if isinstance(value, list):
        lists = [b for b in branches if get_origin(b) is list]
        if not lists:
            return
        attempts: list[list[tuple[int, StripeError]]] = []
        for branch in lists:
            found: list[tuple[int, StripeError]] = []
            (item_type,) = get_args(branch)
            for i, item in enumerate(value):
                _check_value(item_type, item, _name(name, i), found)
            if not found:
                return
            attempts.append(found)
        out.extend(attempts[0])
        return
    _check_scalar(branches, value, name, out)


def _open_dict(tp: Any) -> bool:
    """Hashes with free keys: ``Dict[str, str]`` (metadata), ``UntypedStripeObject``, Any."""
    origin = get_origin(tp) or tp
    return tp is Any or origin is dict or origin is UntypedStripeObject


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _check_scalar(
    branches: list[Any], value: Any, name: str, out: list[tuple[int, StripeError]]
) -> None:
    text = _text(value)
    allowed: list[str] = []
    for branch in branches:
        if get_origin(branch) is Literal:
            allowed.extend(_text(v) for v in get_args(branch))
    enum = [v for v in allowed if v != ""]
    if not enum or text in allowed:
        return  # no enum here (plain str/int/...), or one of its values
    for branch in branches:
        if branch is int and re.fullmatch(r"-?\d+", text):
            return
        if branch in (float, Decimal) and re.fullmatch(r"-?(\d+\.?\d*|\.\d+)", text):
            return
        if branch is bool and text in ("true", "false"):
            return
    out.append(
        (
            _INVALID,
            StripeError(
                400,
                f"Invalid {name}: must be one of {_one_of(enum)}",
                code="parameter_invalid_string",
                param=name,
            ),
        )
    )


def _one_of(values: list[str]) -> str:
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return f"{values[0]} or {values[1]}"
    return ", ".join(values[:-1]) + f", or {values[-1]}"
