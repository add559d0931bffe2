"""The administrator's area: users and their roles, activation, passwords, the unmask permission, API
tokens and the administration log. The engine (engine.identity.user_admin) checks every call itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from engine.errors import ConflictError, EngineError, ForbiddenError, InvalidInputError, NotFoundError
from engine.identity import MAX_DISPLAY_NAME_LENGTH, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, user_admin
from engine.workflow import Actor, require
from services.users import change_user, create_user, find_users, user_page

from .auth import acting, role_label
from .context import runtime

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _rule_messages() -> dict[str, str]:
    """The engine's refusals (by their `rule`) in the user's language."""
    return {
        "password_too_short": _("The password must have at least %(count)d characters.", count=MIN_PASSWORD_LENGTH),
        "password_too_long": _("The password may have at most %(count)d characters.", count=MAX_PASSWORD_LENGTH),
        "password_is_username": _("The password must not be the user name."),
        "bad_username": _("A user name is 1 to 80 letters, digits, “.”, “-” or “_”."),
        "user_exists": _("This user name is taken."),
        "unknown_role": _("Choose only roles from the list."),
        "display_name_too_long": _("The display name may have at most %(count)d characters.",
                                   count=MAX_DISPLAY_NAME_LENGTH),
        "last_admin": _("This is the last active administrator: the account must stay active and keep the "
                        "Administrator role."),
        "own_account": _("You cannot deactivate your own account."),
        "own_admin_role": _("You cannot remove your own Administrator role."),
        "already_revoked": _("This token was already revoked."),
    }


def _explain(exc: EngineError) -> str:
    return _rule_messages().get(exc.details.get("rule", ""), exc.message)


class RoleChoices(SelectMultipleField):
    """Roles as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        """Only the listed roles (a crafted request may send others), said in the user's language."""
        known = {value for value, _label in self.choices or []}
        if any(value not in known for value in self.data or []):
            raise ValidationError(_("Choose only roles from the list."))


def _role_choices() -> list[tuple[str, str]]:
    return [(role, role_label(role)) for role in sorted(runtime().settings.known_roles)]


class NewPasswordMixin:
    """A new password, typed twice."""

    password = PasswordField(_l("Password"), validators=[DataRequired()])
    confirm = PasswordField(_l("Repeat the password"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])


class NewUserForm(NewPasswordMixin, FlaskForm):
    """A new user: name, display name, roles, initial password."""

    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=80)])
    display_name = StringField(_l("Display name"), validators=[Length(max=MAX_DISPLAY_NAME_LENGTH)])
    roles = RoleChoices(_l("Roles"))


class EditUserForm(FlaskForm):
    """What an administrator may change on a user."""

    display_name = StringField(_l("Display name"), validators=[Length(max=MAX_DISPLAY_NAME_LENGTH)])
    roles = RoleChoices(_l("Roles"))
    active = BooleanField(_l("Active (may sign in and use API tokens)"))
    may_unmask = BooleanField(_l("May reveal masked personal data"))


class PasswordForm(NewPasswordMixin, FlaskForm):
    """A new password set by an administrator."""


def _admin() -> Actor:
    """The signed-in administrator; anyone else gets 403 (the engine re-checks every call)."""
    actor = acting()
    try:
        require(actor, {user_admin.ADMIN}, "administer users")
    except ForbiddenError:
        abort(403)
    return actor


def _refused(form: FlaskForm, exc: EngineError) -> None:
    """Show an engine refusal next to the field it names, or above the form when it names none."""
    fields = [name for name in exc.details.get("fields", {}) if name in form]
    for name in fields:
        form[name].errors = [*form[name].errors, _explain(exc)]
    flash(_("Please correct the marked fields.") if fields else _explain(exc), "danger")


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """Every user, searched by name and filtered by role."""
    actor, rt = _admin(), runtime()
    text, role = request.args.get("q", "").strip(), request.args.get("role", "")
    role = role if role in rt.settings.known_roles else ""
    users = find_users(rt, actor, text, role or None)
    return render_template("admin/index.html", users=users, q=text, role=role,
                           roles=sorted(rt.settings.known_roles))


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
def new_user() -> ResponseReturnValue:
    """Create a user with roles and an initial password."""
    actor, rt = _admin(), runtime()
    form = NewUserForm()
    form.roles.choices = _role_choices()
    status = 200
    if form.validate_on_submit():
        username = (form.username.data or "").strip()
        try:
            create_user(rt, actor, username, list(form.roles.data or []), form.password.data or "",
                        form.display_name.data or "")
        except ForbiddenError:
            abort(403)
        except (InvalidInputError, ConflictError) as exc:
            _refused(form, exc)
            status = 409 if isinstance(exc, ConflictError) else 422
        else:
            flash(_("User %(name)s created.", name=username), "success")
            return redirect(url_for("admin.user", username=username))
    elif request.method == "POST":
        flash(_("Please correct the marked fields."), "danger")
        status = 422
    return render_template("admin/new.html", form=form, min_password_length=MIN_PASSWORD_LENGTH), status


def _user_page(actor: Actor, username: str, edit: EditUserForm | None = None,
               password: PasswordForm | None = None, status: int = 200) -> ResponseReturnValue:
    try:
        details = user_page(runtime(), actor, username)
    except NotFoundError:
        abort(404)
    except ForbiddenError:
        abort(403)
    if edit is None:  # never bound to the request: it may carry another form's fields
        shown = details.user
        edit = EditUserForm(formdata=None, data={"display_name": shown.display_name, "roles": shown.roles,
                                                 "active": shown.active, "may_unmask": shown.may_unmask})
        edit.roles.choices = _role_choices()
    return render_template("admin/user.html", details=details, user=details.user, edit=edit,
                           password=password or PasswordForm(formdata=None), is_me=actor.username == username,
                           min_password_length=MIN_PASSWORD_LENGTH), status


@bp.get("/users/<username>")
@login_required
def user(username: str) -> ResponseReturnValue:
    """One user: the edit form, a new password, API tokens and the administration log."""
    return _user_page(_admin(), username)


def _apply(username: str, change: Callable[..., Any], **kwargs: Any) -> EngineError | None:
    """Run one administration change in its own unit of work; the engine error when refused."""
    try:
        change_user(runtime(), _admin(), username, change, **kwargs)
    except NotFoundError:
        abort(404)
    except ForbiddenError:
        abort(403)
    except (InvalidInputError, ConflictError) as exc:
        return exc
    return None


@bp.post("/users/<username>")
@login_required
def edit(username: str) -> ResponseReturnValue:
    """Save the display name, roles, active flag and unmask permission (all or nothing)."""
    actor = _admin()
    form = EditUserForm()
    form.roles.choices = _role_choices()
    if not form.validate():
        flash(_("Please correct the marked fields."), "danger")
        return _user_page(actor, username, edit=form, status=422)
    refused = _apply(username, user_admin.update_user, display_name=form.display_name.data or "",
                     roles=list(form.roles.data or []), active=bool(form.active.data),
                     may_unmask=bool(form.may_unmask.data))
    if refused is not None:
        _refused(form, refused)
        return _user_page(actor, username, edit=form, status=409 if isinstance(refused, ConflictError) else 422)
    flash(_("The changes to %(name)s are saved.", name=username), "success")
    return redirect(url_for("admin.user", username=username))


@bp.post("/users/<username>/password")
@login_required
def set_password(username: str) -> ResponseReturnValue:
    """Set a new password for the user."""
    actor = _admin()
    form = PasswordForm()
    if not form.validate():
        flash(_("Please correct the marked fields."), "danger")
        return _user_page(actor, username, password=form, status=422)
    refused = _apply(username, user_admin.set_password, password=form.password.data or "")
    if refused is not None:
        _refused(form, refused)
        return _user_page(actor, username, password=form, status=422)
    flash(_("The new password of %(name)s is set.", name=username), "success")
    return redirect(url_for("admin.user", username=username))


@bp.post("/users/<username>/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(username: str, token_id: int) -> ResponseReturnValue:
    """Revoke one API token of the user."""
    refused = _apply(username, user_admin.revoke_token, token_id=token_id)
    if refused is not None:
        flash(_explain(refused), "warning")
    else:
        flash(_("The API token is revoked."), "success")
    return redirect(url_for("admin.user", username=username))


def change_lines(change: dict[str, Any]) -> list[str]:
    """One log entry in the user's language."""
    lines = []
    if "created" in change:
        created = change["created"]
        roles = ", ".join(role_label(r) for r in created.get("roles", [])) or "—"
        lines.append(_("Created with the roles: %(roles)s", roles=roles))
    if "display_name" in change:
        lines.append(_("Display name set to “%(name)s”", name=change["display_name"]))
    if "roles" in change:
        if change["roles"].get("added"):
            lines.append(_("Roles added: %(roles)s", roles=", ".join(map(role_label, change["roles"]["added"]))))
        if change["roles"].get("removed"):
            lines.append(_("Roles removed: %(roles)s", roles=", ".join(map(role_label, change["roles"]["removed"]))))
    if "active" in change:
        lines.append(_("Activated") if change["active"] else _("Deactivated"))
    if "may_unmask" in change:
        lines.append(_("May now reveal masked personal data") if change["may_unmask"]
                     else _("May no longer reveal masked personal data"))
    if "password" in change:
        lines.append(_("Password set"))
    if "token_revoked" in change:
        lines.append(_("API token %(id)s revoked", id=change["token_revoked"]))
    return lines


bp.add_app_template_global(change_lines, "change_lines")
