"""Sign-in and sign-out with throttled failures, the language switch, the error pages, and what
every page's layout needs to know about the person using it."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import Forbidden, HTTPException, NotFound
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine.errors import ForbiddenError, NotFoundError
from engine.workflow import Actor
from services.accounts import password_ok
from services.dashboard import may_see_dashboard

from . import LANGUAGES
from .context import SignedIn, current_actor, runtime
from .errors import error_body
from .throttling import account_delay, address_throttle, login_throttle

bp = Blueprint("auth", __name__)
# The administrators' log of an account under attack (or a user who forgot a password): at these counts.
security_log = logging.getLogger("insureflow.security")
ALERT_AT = frozenset({5, 10, 20})

LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
# Links to other areas, shown when that area is installed and the user holds one of the roles.
AREA_LINKS = (
    ("dashboard.index", _l("Dashboard"), None),  # None: for whoever manages a team (services.dashboard)
    ("admin.index", _l("Users"), {"admin"}),
    ("studio.index", _l("Studio"), {"analyst", "admin"}),
    ("audit.index", _l("Audit"), {"auditor", "admin"}),
)

ROLE_LABELS = {
    "agent": _l("Agent"), "compliance": _l("Compliance officer"), "underwriter": _l("Underwriter"),
    "senior_underwriter": _l("Senior underwriter"), "claims_clerk": _l("Claims clerk"), "surveyor": _l("Surveyor"),
    "adjuster": _l("Adjuster"), "claims_manager": _l("Claims manager"),
    "claims_director": _l("Claims director"), "siu": _l("SIU investigator"),
    "finance": _l("Finance"), "analyst": _l("Business analyst"), "auditor": _l("Auditor"), "admin": _l("Administrator"),
}


@bp.app_template_global()
def role_label(role: str | None) -> str:
    """A role's name in the user's language."""
    return str(ROLE_LABELS.get(role or "", role or "—"))


def N_(message: str) -> str:
    """Mark a message for translation where it is translated later (by gettext at use)."""
    return message


@bp.record_once
def _set_up(state: Any) -> None:
    manager = state.app.login_manager
    manager.login_message = N_("Please sign in to see this page.")
    manager.login_message_category = "info"
    manager.localize_callback = _


class LoginForm(FlaskForm):
    """User name and password."""

    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


# Roles whose work is not in the inbox, and the area they land in after signing in (first match wins).
HOME_AREAS = (("auditor", "audit.index"), ("analyst", "studio.index"), ("admin", "admin.index"))


def home_page(actor: Actor | None) -> str:
    """Where someone's work is: the inbox for anyone with a role that receives tasks, else their own area."""
    if actor is None:
        return url_for("inbox.index")
    areas = dict(HOME_AREAS)
    if any(role not in areas for role in actor.roles):
        return url_for("inbox.index")
    return url_for(next(endpoint for role, endpoint in HOME_AREAS if role in actor.roles))


def safe_next(target: str | None, default: str = "inbox.index") -> str:
    """`target` when it is a path on this site, else the default page (no open redirects)."""
    if target:
        parts = urlsplit(target)
        if (target.startswith("/") and not target.startswith(("//", "/\\")) and not parts.scheme
                and not parts.netloc and "\\" not in target):
            return target
    return url_for(default)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The sign-in page. Failures slow the account down (a wait that doubles with each one, at most five
    minutes, after which the right password works again) and are logged for the administrators; an address
    is stopped only after far more failures than one office makes, so nobody locks out a colleague."""
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        username = (form.username.data or "").strip()
        accounts, addresses = login_throttle(current_app.config), address_throttle(current_app.config)
        account, address = f"user:{username.lower()}", f"addr:{request.remote_addr}"
        failures, last = accounts.recent(account)
        wait = max(account_delay(failures, last, runtime().clock()), addresses.wait_seconds(address))
        if wait:
            flash(_("Too many failed sign-ins. Try again in %(seconds)d seconds.", seconds=int(wait) + 1), "danger")
            status = 429
        elif password_ok(runtime(), username, form.password.data or ""):
            accounts.reset(account)
            lang = session.get("lang")
            session.clear()  # a fresh session for the signed-in user
            if lang:
                session["lang"] = lang
            login_user(SignedIn(username))
            return redirect(safe_next(form.next.data) if form.next.data else home_page(current_actor()))
        else:
            accounts.hit(account)
            addresses.hit(address)
            if failures + 1 in ALERT_AT or (failures + 1) % 50 == 0:
                security_log.warning("%d failed sign-ins for account %r in %d minutes (last from %s)",
                                     failures + 1, username[:80], accounts.rule.window_seconds // 60,
                                     request.remote_addr)
            flash(_("Wrong user name or password."), "danger")
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out and forget the session (the language choice stays)."""
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def set_language() -> ResponseReturnValue:
    """Remember the chosen language in the session and go back to the page."""
    lang = request.form.get("lang", "")
    if lang not in LANGUAGES:
        abort(400, _("Unknown language."))
    session["lang"] = lang
    return redirect(safe_next(request.form.get("next")))


def acting() -> Actor:
    """The signed-in user's engine Actor (views are @login_required, so missing means deactivated)."""
    actor = current_actor()
    if actor is None:
        abort(403, _("Your account is not active."))
    return actor


@bp.app_context_processor
def _layout() -> dict[str, Any]:
    actor = None if request.path.startswith("/static/") else current_actor()
    areas = [(url_for(endpoint), label) for endpoint, label, roles in AREA_LINKS
             if actor is not None and endpoint in current_app.view_functions
             and (actor.has_any(roles) if roles is not None else may_see_dashboard(runtime(), actor))]
    return {"actor": actor, "lang": str(get_locale() or "zh"), "languages": LANGUAGE_NAMES, "area_links": areas,
            "home_url": home_page(actor)}


ERROR_TITLES = {
    400: _l("The request could not be handled"),
    401: _l("Please sign in"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Not allowed"),
    413: _l("Too large"),
    429: _l("Too many requests"),
}

ERROR_MESSAGES = {
    403: _l("You may not open this page."),
    404: _l("There is nothing at this address."),
    405: _l("This page cannot be used this way."),
    413: _l("What was sent is larger than this site accepts at once. Upload the files a few at a time."),
    429: _l("Please wait a while and try again."),
}


def _error_page(exc: HTTPException) -> ResponseReturnValue:
    code = exc.code or 500
    if request.path.startswith("/api/"):
        kinds = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "not_allowed",
                 413: "too_large", 429: "too_many_requests"}
        return jsonify(error_body(kinds.get(code, "error"), exc.description or "")), code
    title = ERROR_TITLES.get(code, _l("Something went wrong"))
    own = exc.description if exc.description != type(exc).description else None
    message = own or ERROR_MESSAGES.get(code, "")
    return render_template("errors/error.html", code=code, title=title, message=message), code


for _code in (400, 403, 404, 405, 413, 429):
    bp.app_errorhandler(_code)(_error_page)


@bp.app_errorhandler(ForbiddenError)
@bp.app_errorhandler(NotFoundError)
def _engine_refusal(exc: ForbiddenError | NotFoundError) -> ResponseReturnValue:
    """An engine refusal that no view turned into a message of its own: the error page, never a 500."""
    return _error_page((Forbidden if isinstance(exc, ForbiddenError) else NotFound)(exc.message))


@bp.app_errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> ResponseReturnValue:
    exc.description = _("The form has expired or did not come from this site. Reload the page and try again.")
    return _error_page(exc)
