"""/v1/billing_portal/configurations and /v1/billing_portal/sessions (the hosted page lives in
pages.py).

A configuration says what the portal lets a customer do (``features``); a session uses the
configuration named by ``configuration``, else the account's default one
(https://docs.stripe.com/api/customer_portal/sessions/create). The emulator has no Dashboard,
so no configuration is the default unless one is created here; without any, sessions name the
placeholder ``bpc_emulated`` and the hosted page allows every action.
"""

from __future__ import annotations

from stripe_emulator import objects
from stripe_emulator.protocol import (
    Obj,
    StripeError,
    get_bool,
    get_dict,
    get_list,
    get_str,
    merge_metadata,
    missing,
    paginate,
    req_str,
)
from stripe_emulator.routes.core import Ctx, Router
from stripe_emulator.store import State, new_id

PLACEHOLDER_CONFIGURATION = "bpc_emulated"
KIND = "billing_portal.configuration"


def _enabled(feature: Obj, param: str, current: bool | None) -> bool:
    value = get_bool(feature, "enabled")
    if value is None:
        if current is None:
            raise missing(f"{param}[enabled]")
        return current
    return value


def _features(p: Obj, current: Obj | None) -> Obj:
    """``features`` in fixtures3.json's layout: the given values over the current ones (or
    Stripe's defaults); each feature given anew needs its ``enabled``."""
    given = get_dict(p, "features")
    base: Obj = current or {
        "customer_update": {"allowed_updates": [], "enabled": False},
        "invoice_history": {"enabled": False},
        "payment_method_update": {"enabled": False, "payment_method_configuration": None},
        "subscription_cancel": {
            "cancellation_reason": {"enabled": False, "options": []},
            "enabled": False,
            "mode": "at_period_end",
            "proration_behavior": "none",
        },
        "subscription_update": {
            "default_allowed_updates": [],
            "enabled": False,
            "proration_behavior": "none",
            "schedule_at_period_end": {"conditions": []},
            "trial_update_behavior": "end_trial",
            "billing_cycle_anchor": None,
        },
    }
    out: Obj = {name: dict(value) for name, value in base.items()}
    for name, fields in out.items():
        if name not in given:
            continue
        feature = get_dict(given, name)
        param = f"features[{name}]"
        fields["enabled"] = _enabled(feature, param, None if current is None else fields["enabled"])
        if name == "customer_update" and "allowed_updates" in feature:
            fields["allowed_updates"] = [str(u) for u in get_list(feature, "allowed_updates")]
        if name == "subscription_cancel":
            for key in ("mode", "proration_behavior"):
                if get_str(feature, key):
                    fields[key] = get_str(feature, key)
        if name == "subscription_update":
            if "default_allowed_updates" in feature:
                fields["default_allowed_updates"] = [
                    str(u) for u in get_list(feature, "default_allowed_updates")
                ]
            for key in ("proration_behavior", "billing_cycle_anchor", "trial_update_behavior"):
                if get_str(feature, key):
                    fields[key] = get_str(feature, key)
    return out


def _business_profile(p: Obj, current: Obj | None) -> Obj:
    out: Obj = dict(
        current or {"headline": None, "privacy_policy_url": None, "terms_of_service_url": None}
    )
    given = get_dict(p, "business_profile")
    for key in out:
        if key in given:
            out[key] = objects.value_or_none(given[key])
    return out


def create_configuration(ctx: Ctx) -> Obj:
    p = ctx.params
    if not get_dict(p, "features"):
        raise missing("features")
    now = ctx.state.real_now()
    config: Obj = {
        "id": new_id("bpc_"),
        "object": KIND,
        "active": True,
        "application": None,
        "business_profile": _business_profile(p, None),
        "created": now,
        "default_return_url": get_str(p, "default_return_url"),
        "features": _features(p, None),
        # Only the Dashboard's configuration is the default; the API creates others.
        "is_default": False,
        "livemode": False,
        "login_page": {
            "enabled": bool(get_bool(get_dict(p, "login_page"), "enabled")),
            "url": None,
        },
        "metadata": merge_metadata({}, p.get("metadata")),
        "updated": now,
        "name": get_str(p, "name"),
    }
    ctx.state.add(config)
    return objects.render(ctx.state, config)


def update_configuration(ctx: Ctx) -> Obj:
    config = ctx.state.get(ctx.arg, KIND)
    p = ctx.params
    active = get_bool(p, "active")
    if active is not None:
        config["active"] = active
    if "features" in p:
        config["features"] = _features(p, config["features"])
    if "business_profile" in p:
        config["business_profile"] = _business_profile(p, config["business_profile"])
    for key in ("default_return_url", "name"):
        if key in p:
            config[key] = objects.value_or_none(p[key])
    if "login_page" in p:
        enabled = get_bool(get_dict(p, "login_page"), "enabled")
        config["login_page"] = {"enabled": bool(enabled), "url": None}
    if "metadata" in p:
        config["metadata"] = merge_metadata(config["metadata"], p["metadata"])
    config["updated"] = ctx.state.real_now()
    return objects.render(ctx.state, config)


def list_configurations(ctx: Ctx) -> Obj:
    found = ctx.state.all(KIND)
    for key in ("active", "is_default"):
        wanted = get_bool(ctx.params, key)
        if wanted is not None:
            found = [c for c in found if c[key] is wanted]
    return paginate(
        found,
        ctx.params,
        "/v1/billing_portal/configurations",
        lambda o: objects.render(ctx.state, o),
    )


def _session_configuration(ctx: Ctx) -> str:
    named = get_str(ctx.params, "configuration")
    if named:
        config = ctx.state.get(named, KIND, "configuration")
        if not config["active"]:
            raise StripeError(
                400,
                f"The configuration {named} is inactive; activate it to create sessions with it.",
                param="configuration",
            )
        return named
    default = next((c for c in ctx.state.all(KIND) if c["is_default"] and c["active"]), None)
    return str(default["id"]) if default else PLACEHOLDER_CONFIGURATION


def create(ctx: Ctx) -> Obj:
    customer_id = req_str(ctx.params, "customer")
    ctx.state.get(customer_id, "customer", "customer")
    session: Obj = {
        "id": new_id("bps_"),
        "object": "billing_portal.session",
        "configuration": _session_configuration(ctx),
        "created": ctx.now(customer_id),
        "customer": customer_id,
        "customer_account": None,
        "flow": None,
        "livemode": False,
        "locale": None,
        "on_behalf_of": None,
        "return_url": get_str(ctx.params, "return_url"),
        "url": None,
    }
    session["url"] = f"{ctx.base_url}portal/{session['id']}"
    ctx.state.add(session)
    return objects.render(ctx.state, session)


def allowed(state: State, session: Obj) -> tuple[bool, bool]:
    """(seat quantity changes, cancel at period end) as the session's configuration allows;
    both with the placeholder configuration."""
    config = state.find(str(session.get("configuration") or ""))
    if config is None or config.get("object") != KIND:
        return True, True
    features = config["features"]
    return bool(features["subscription_update"]["enabled"]), bool(
        features["subscription_cancel"]["enabled"]
    )


def register(r: Router) -> None:
    r.add("POST", "/v1/billing_portal/configurations", create_configuration)
    r.add("GET", "/v1/billing_portal/configurations", list_configurations)
    r.retrieve("/v1/billing_portal/configurations/{id}", KIND)
    r.add("POST", "/v1/billing_portal/configurations/{id}", update_configuration)
    r.add("POST", "/v1/billing_portal/sessions", create)
