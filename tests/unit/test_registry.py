"""HandlerRegistry: handlers register by name, declare required/optional parameters by signature, and list sorted."""

from __future__ import annotations

from typing import Any

import pytest

from engine.registry import Handler, HandlerContext, HandlerRegistry


def quote(ctx: HandlerContext, amount: float, product: str, discount: float = 0.0, *, channel: str = "web") -> dict:
    """Price a policy.

    The second paragraph is not part of the description.
    """
    return {"premium": amount}


def no_doc(ctx: HandlerContext, x: int) -> int:
    return x


# --- registering --------------------------------------------------------------------------------

def test_add_registers_the_function_under_the_given_name() -> None:
    registry = HandlerRegistry()
    registry.add("price_quote", quote)
    handler = registry.get("price_quote")
    assert isinstance(handler, Handler)
    assert handler.name == "price_quote"
    assert handler.func is quote


def test_register_decorator_defaults_to_the_function_name_and_returns_the_function() -> None:
    registry = HandlerRegistry()

    @registry.register()
    def lookup(ctx: HandlerContext, policy_no: str) -> dict:
        return {}

    assert registry.get("lookup") is not None
    assert registry.get("lookup").func is lookup  # type: ignore[union-attr]
    assert callable(lookup)


def test_register_decorator_uses_an_explicit_name() -> None:
    registry = HandlerRegistry()

    @registry.register("crm.lookup")
    def lookup(ctx: HandlerContext) -> None:
        return None

    assert "crm.lookup" in registry
    assert "lookup" not in registry


def test_get_of_an_unknown_name_is_none_and_contains_is_false() -> None:
    registry = HandlerRegistry()
    assert registry.get("nope") is None
    assert "nope" not in registry


# --- parameters from the signature --------------------------------------------------------------

def test_parameters_without_defaults_are_required_and_with_defaults_optional() -> None:
    registry = HandlerRegistry()
    registry.add("quote", quote)
    handler = registry.get("quote")
    assert handler is not None
    assert handler.required == frozenset({"amount", "product"})
    assert handler.optional == frozenset({"discount", "channel"})


def test_ctx_is_neither_required_nor_optional() -> None:
    registry = HandlerRegistry()
    registry.add("quote", quote)
    handler = registry.get("quote")
    assert handler is not None
    assert "ctx" not in handler.required | handler.optional


def test_star_args_and_star_kwargs_are_not_parameters() -> None:
    def flexible(ctx: HandlerContext, policy_no: str, *args: Any, **kwargs: Any) -> None:
        return None

    registry = HandlerRegistry()
    registry.add("flexible", flexible)
    handler = registry.get("flexible")
    assert handler is not None
    assert handler.required == frozenset({"policy_no"})
    assert handler.optional == frozenset()


def test_a_handler_with_only_ctx_has_no_parameters() -> None:
    registry = HandlerRegistry()
    registry.add("ping", lambda ctx: None)
    handler = registry.get("ping")
    assert handler is not None
    assert handler.required == frozenset()
    assert handler.optional == frozenset()


# --- ctx must come first --------------------------------------------------------------------------

@pytest.mark.parametrize("func", [
    lambda: None,
    lambda amount, ctx: None,
    lambda context, amount: None,
    lambda *args: None,
], ids=["no-params", "ctx-second", "ctx-misnamed", "var-positional"])
def test_a_function_without_ctx_first_is_refused(func: Any) -> None:
    registry = HandlerRegistry()
    with pytest.raises(TypeError, match="ctx"):
        registry.add("bad", func)
    assert "bad" not in registry


# --- duplicate names ----------------------------------------------------------------------------

def test_a_name_may_be_registered_only_once() -> None:
    registry = HandlerRegistry()
    registry.add("quote", quote)
    with pytest.raises(ValueError, match="already registered"):
        registry.add("quote", no_doc)
    handler = registry.get("quote")
    assert handler is not None
    assert handler.func is quote


def test_the_decorator_also_refuses_a_duplicate_name() -> None:
    registry = HandlerRegistry()
    registry.add("lookup", no_doc)
    with pytest.raises(ValueError, match="lookup"):
        @registry.register("lookup")
        def lookup(ctx: HandlerContext) -> None:
            return None


def test_the_same_function_may_be_registered_under_two_names() -> None:
    registry = HandlerRegistry()
    registry.add("a", no_doc)
    registry.add("b", no_doc)
    assert list(registry.names()) == ["a", "b"]


# --- listing ------------------------------------------------------------------------------------

def test_names_lists_every_registered_name_sorted() -> None:
    registry = HandlerRegistry()
    for name in ("zeta", "alpha", "mid"):
        registry.add(name, no_doc)
    assert list(registry.names()) == ["alpha", "mid", "zeta"]


def test_iteration_yields_handlers_sorted_by_name_not_registration_order() -> None:
    registry = HandlerRegistry()
    for name in ("zeta", "alpha", "mid"):
        registry.add(name, no_doc)
    assert [h.name for h in registry] == ["alpha", "mid", "zeta"]


def test_an_empty_registry_lists_nothing() -> None:
    registry = HandlerRegistry()
    assert list(registry.names()) == []
    assert list(registry) == []


def test_registries_do_not_share_handlers() -> None:
    first, second = HandlerRegistry(), HandlerRegistry()
    first.add("quote", quote)
    assert "quote" not in second


# --- description --------------------------------------------------------------------------------

def test_description_is_the_first_docstring_line() -> None:
    registry = HandlerRegistry()
    registry.add("quote", quote)
    handler = registry.get("quote")
    assert handler is not None
    assert handler.description == "Price a policy."


def test_description_is_empty_without_a_docstring() -> None:
    registry = HandlerRegistry()
    registry.add("no_doc", no_doc)
    handler = registry.get("no_doc")
    assert handler is not None
    assert handler.description == ""
