"""The web app's response headers and cookie and proxy settings, from the instance's `[web]` settings.

flask-talisman sets the headers: a Content-Security-Policy that allows scripts only from the app itself
(no inline script anywhere: data for scripts travels in `<script type="application/json">` blocks),
`frame-ancestors 'none'` and X-Frame-Options DENY (no page can be framed, so no form can be clicked
through a frame), nosniff and a strict Referrer-Policy. Styles may be inline because the diagram viewer
(bpmn-js) writes style attributes into the SVG it draws. `[web] secure_cookies = true` (behind HTTPS)
marks the session and remember-me cookies Secure and sends HSTS; `trusted_proxies = N` trusts the last N
proxies' X-Forwarded-* headers (werkzeug's ProxyFix), so addresses and the scheme are the client's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
KNOWN = {"secure_cookies", "trusted_proxies", "customer_hotline", "timezone"}


def web_settings(raw: Mapping[str, Any]) -> tuple[bool, int]:
    """(secure cookies, trusted proxies) from `[web]`; ValueError naming a wrong or unknown setting."""
    unknown = sorted(set(raw) - KNOWN)
    if unknown:
        raise ValueError(f"unknown [web] settings: {', '.join(unknown)}")
    secure, proxies = raw.get("secure_cookies", False), raw.get("trusted_proxies", 0)
    if not isinstance(secure, bool):
        raise ValueError(f"[web] secure_cookies must be true or false, not {secure!r}")
    if not isinstance(proxies, int) or isinstance(proxies, bool) or not 0 <= proxies <= 5:
        raise ValueError(f"[web] trusted_proxies must be a whole number from 0 to 5, not {proxies!r}")
    return secure, proxies


def customer_hotline(raw: Mapping[str, Any]) -> str | None:
    """`[web] customer_hotline`: the number the claim-status page tells a locked-out claimant to call."""
    phone = raw.get("customer_hotline")
    if phone is not None and (not isinstance(phone, str) or not 0 < len(phone.strip()) <= 40):
        raise ValueError(f"[web] customer_hotline must be a phone number as text, not {phone!r}")
    return phone.strip() if phone else None


def display_timezone(raw: Mapping[str, Any]) -> ZoneInfo:
    """`[web] timezone`: the IANA zone staff read every time in (default Asia/Shanghai, the insurer's)."""
    name = raw.get("timezone", "Asia/Shanghai")
    try:
        return ZoneInfo(name) if isinstance(name, str) and name else ZoneInfo("")
    except (ValueError, ZoneInfoNotFoundError):
        raise ValueError(f"[web] timezone must be an IANA time zone such as \"Asia/Shanghai\", not {name!r}") from None


def secure_app(app: Flask, raw: Mapping[str, Any]) -> None:
    """Apply the headers, the cookie flags and the proxy setting to the app."""
    secure, proxies = web_settings(raw)
    app.config.update(SESSION_COOKIE_SECURE=secure, REMEMBER_COOKIE_SECURE=secure)
    app.config.setdefault("CUSTOMER_HOTLINE", customer_hotline(raw))
    app.config.setdefault("DISPLAY_TIMEZONE", display_timezone(raw))
    Talisman(app, force_https=False, session_cookie_secure=secure, strict_transport_security=secure,
             content_security_policy=CSP, frame_options="DENY", referrer_policy="strict-origin-when-cross-origin",
             x_content_type_options=True)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
