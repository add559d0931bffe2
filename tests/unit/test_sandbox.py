"""The script sandbox: business scripts run, escapes are refused at compile time, runaways are stopped."""

from __future__ import annotations

import sys
import types
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.workflow.sandbox import (
    Limits,
    RestrictedEnvironment,
    SandboxError,
    ScriptLimitError,
    ScriptRejectedError,
    check_expression,
    check_script,
    compile_expression,
    compile_script,
    guards,
)


def run(script: str, data: dict[str, Any] | None = None, **env: Any) -> dict[str, Any]:
    context = dict(data or {})
    RestrictedEnvironment(**env).execute(script, context)
    return context


# --- ordinary business scripts ------------------------------------------------------------------

def test_business_script_with_data_writes_loops_comprehensions_fstrings_def_and_try_runs() -> None:
    data = run(
        'data["x"] = 1\n'
        "n += 1\n"
        "total = 0\n"
        "for name, amount in items:\n"
        "    total += amount\n"
        "squares = [i * i for i in range(4)]\n"
        "by_name = {name: amount for name, amount in items}\n"
        "def fee(value, rate=2):\n"
        "    return value * rate\n"
        "doubled = fee(total)\n"
        "label = f'{n} items, {total:,.2f} total'\n"
        "try:\n"
        "    broken = 1 / 0\n"
        "except ZeroDivisionError:\n"
        "    broken = None\n"
        "first, *rest = [1, 2, 3]\n"
        "big = sorted(x for x in rest if x > 1)\n",
        {"data": {}, "n": 1, "items": [("a", 10), ("b", 5)]},
    )
    assert data["data"] == {"x": 1}
    assert data["n"] == 2
    assert data["total"] == 15
    assert data["squares"] == [0, 1, 4, 9]
    assert data["by_name"] == {"a": 10, "b": 5}
    assert data["doubled"] == 30
    assert data["label"] == "2 items, 15.00 total"
    assert data["broken"] is None
    assert (data["first"], data["rest"], data["big"]) == (1, [2, 3], [2, 3])


def test_decimal_quantize_and_date_arithmetic_work() -> None:
    data = run(
        'premium = (Decimal("99.995") * 2).quantize(Decimal("0.01"))\n'
        "renewal = start + timedelta(days=365)\n"
        "stamp = datetime(2024, 1, 1, tzinfo=timezone.utc).isoformat()\n"
        "whole = int(premium) + round(Decimal('2.5'))\n",
        {"start": date(2024, 1, 1)},
    )
    assert data["premium"] == Decimal("199.99")
    assert data["renewal"] == date(2024, 12, 31)
    assert data["stamp"] == "2024-01-01T00:00:00+00:00"
    assert data["whole"] == 201


def test_numbers_with_a_fraction_are_exact_decimals_in_scripts_and_expressions() -> None:
    data = run("payable = 0.1 + 0.2\nhalf = 7 / 2\nshare = amount / 3\nrate = 1e-2\nthird = 10\nthird /= 4",
               {"amount": Decimal("100.00")})
    assert data["payable"] == Decimal("0.3") and isinstance(data["payable"], Decimal)  # not 0.30000000000000004
    assert data["half"] == Decimal("3.5") and data["rate"] == Decimal("0.01") and data["third"] == Decimal("2.5")
    assert data["share"] == Decimal("33.33333333333333333333333333")
    assert RestrictedEnvironment().evaluate("amount > 29999.99", {}, {"amount": Decimal("29999.995")}) is True
    assert RestrictedEnvironment().evaluate("a // 2 + len('ab') / 2", {"a": 7}) == Decimal("4")


def test_dividing_by_zero_is_an_ordinary_zero_division_error() -> None:
    with pytest.raises(ZeroDivisionError):
        run("x = 1 / 0")
    with pytest.raises(ZeroDivisionError):
        run("x = amount / 0", {"amount": Decimal("5")})


def test_float_is_not_offered_and_validation_says_what_to_write_instead() -> None:
    (problem,) = check_script("ratio = float(amount) / 3")
    assert '"float" is not available in scripts' in str(problem) and 'Decimal("0.1")' in str(problem)


def test_string_helpers_and_print_work_within_limits() -> None:
    data = run("s = ', '.join(['a', 'b']).upper().ljust(6, '.')\nprint('hello')\nout = printed\n"
               "ok = isinstance(3, int) and isinstance(True, (int, str))")
    assert data["s"] == "A, B.."
    assert data["out"] == "hello\n"
    assert data["ok"] is True


def test_expressions_evaluate_against_task_data() -> None:
    env = RestrictedEnvironment()
    data = {"amount": 250, "claim": {"type": "auto"}, "items": [1, 2, 3]}
    assert env.evaluate("amount > 100 and claim['type'] == 'auto'", data) is True
    assert env.evaluate("\n   sum(items) * 2  \n", data) == 12
    assert env.evaluate("limit - amount", data, {"limit": 1000}) == 750
    assert data == {"amount": 250, "claim": {"type": "auto"}, "items": [1, 2, 3]}


def test_guards_helpers_and_functions_are_removed_from_task_data_after_a_script() -> None:
    context: dict[str, Any] = {"n": 1}
    env = RestrictedEnvironment(extra_globals={"double": lambda x: x * 2})
    env.execute("def helper(x):\n    return x + 1\nm = helper(double(n)) + triple(1)\nprint(m)", context,
                {"triple": lambda x: x * 3})
    assert context == {"n": 1, "m": 6}


def test_task_data_cannot_replace_the_guards() -> None:
    assert run("y = 'a'.upper()", {"_getattr_": "not a function"})["y"] == "A"


def test_a_form_field_named_like_an_offered_class_shadows_it_without_breaking_scripts() -> None:
    assert run("copy = date", {"date": "2024-01-01"})["copy"] == "2024-01-01"


def test_runtime_errors_keep_their_normal_types() -> None:
    with pytest.raises(ZeroDivisionError):
        run("x = 1 / 0")
    with pytest.raises(KeyError):
        run("x = {}['missing']")
    with pytest.raises(AttributeError):
        run("x = 'a'.no_such_method")
    with pytest.raises(NameError):
        run("x = undefined_name")


# --- refused at compile time ----------------------------------------------------------------------

@pytest.mark.parametrize("line", [
    "import os",
    "from os import path",
    "open('x')",
    "eval('1')",
    "exec('1')",
    "getattr(x, 'y')",
    "().__class__.__base__.__subclasses__()",
    "x._private",
    "globals()",
    "vars()",
    "compile('1', 's', 'exec')",
    "type(x)",
    "__import__('os')",
    "breakpoint()",
    "datetime.now().__class__",
    "global x",
    "class A: pass",
    "def gen(): yield 1",
    "f'{x:{width}}'",
    "f'{x:>1000000000}'",
    "raise Exception.mro()[1]('escapes except Exception')",
])
def test_forbidden_construct_is_refused_at_compile_time_with_its_line(line: str) -> None:
    source = f"x = 1\n{line}\n"
    with pytest.raises(ScriptRejectedError) as refused:
        compile_script(source)
    assert refused.value.lineno == 2
    assert refused.value.reason
    assert "\n" not in str(refused.value)
    assert isinstance(refused.value, SandboxError)


def test_check_script_reports_every_problem_with_its_line() -> None:
    problems = check_script("x = 1\nimport os\ny = open('f')\nz = x.__dict__\nglobals()\n")
    assert [p.lineno for p in problems] == [2, 3, 4, 5]
    assert all(isinstance(p, ScriptRejectedError) and p.reason for p in problems)
    with pytest.raises(ScriptRejectedError, match="and 3 more problems"):
        compile_script("x = 1\nimport os\ny = open('f')\nz = x.__dict__\nglobals()\n")


def test_check_expression_reports_problems_and_accepts_a_plain_condition() -> None:
    assert check_expression("  amount > 100 and kind in ('a', 'b')  ") == []
    assert [p.lineno for p in check_expression("__import__('os').system('ls')")] == [1]
    assert check_expression("getattr(x, 'y') or open('z')")[1].reason == '"open" is not available in scripts'


def test_an_oversized_source_is_refused_without_being_parsed() -> None:
    [problem] = check_script("x = 1\n" * 50_000)
    assert "longer than" in problem.reason


def test_syntax_errors_are_reported_as_rejections_with_the_line() -> None:
    [problem] = check_script("x = 1\nif x\n")
    assert problem.lineno == 2 and "syntax" in problem.reason
    with pytest.raises(ScriptRejectedError):
        compile_expression("x = 1")


def test_escape_attempts_at_run_time_fail_cleanly() -> None:
    with pytest.raises(NotImplementedError):
        run("x = '{0.__class__}'.format(1)")  # str.format could reach dunders through the format spec
    with pytest.raises(AttributeError):
        run("x = str.join('', ['a'])")  # unbound methods would hide the instance from the size check
    with pytest.raises(AttributeError):
        run("x = Decimal.as_integer_ratio(Decimal('1e999999'))")


def test_a_bare_base_exception_from_a_script_becomes_a_sandbox_error() -> None:
    def boom() -> None:
        raise BaseException("would slip past SpiffWorkflow's except Exception")

    with pytest.raises(SandboxError, match="may not raise BaseException"):
        RestrictedEnvironment().execute("boom()", {}, {"boom": boom})


def script_namespace() -> dict[str, Any]:
    """The globals a script actually runs with, captured from inside a call the script makes."""
    seen: dict[str, Any] = {}
    RestrictedEnvironment().execute("capture()", {}, {"capture": lambda: seen.update(sys._getframe(1).f_globals)})
    return seen


def test_no_module_is_reachable_from_the_offered_names() -> None:
    namespace = script_namespace()
    offered = {**namespace, **namespace["__builtins__"]}
    for name in ("min", "max", "sum", "sorted", "enumerate", "zip", "any", "all", "dict", "set", "list",
                 "map", "filter", "reversed", "round", "abs", "len", "str", "int", "bool",
                 "isinstance", "Decimal", "date", "datetime", "timedelta", "timezone"):
        assert name in offered, name
    assert "float" not in offered  # numbers with a fraction are Decimal
    for name in ("math", "random", "string", "datetime_module", "open", "getattr", "setattr", "type"):
        assert not isinstance(offered.get(name), types.ModuleType)
    assert "setattr" not in offered and "getattr" not in offered and "__import__" not in offered
    for name, value in offered.items():
        assert not isinstance(value, types.ModuleType), name
        for attr in dir(value):
            if not attr.startswith("_"):
                assert not isinstance(getattr(value, attr, None), types.ModuleType), f"{name}.{attr}"


# --- stopped at run time ----------------------------------------------------------------------------

RUNAWAYS = {
    "endless loop": "while True:\n    pass",
    "recursion bomb": "def f(n):\n    return 1 if n == 0 else f(n - 1) + f(n - 1)\nf(60)",
    "recursion bomb swallowing RecursionError": "def f():\n    try:\n        f()\n    except Exception:\n"
                                                "        f()\nf()",
    "loop swallowing every Exception": "while True:\n    try:\n        x = 1 / 0\n    except Exception:\n"
                                       "        pass",
    "loop with a bare except": "while True:\n    try:\n        while True:\n            pass\n    except:\n"
                               "        pass",
    "endless iterator": "[1 for _ in iter(int, 1)]",
    "endless iterator consumed in C": "x = sum(iter(int, 1))",
    "huge power": "x = 7 ** 6000000",
    "huge power via pow()": "x = pow(7, 6000000)",
    "huge power in place": "x = 7\nx **= 6000000",
    "huge shift": "x = 1 << 10**9",
    "repeated squaring": "x = 3\nfor i in range(50):\n    x = x * x",
    "huge string": "x = 'a' * 10**9",
    "huge string in place": "x = 'a'\nx *= 10**9",
    "huge padding": "x = 'a'.ljust(10**10)",
    "huge format width": "x = '%1000000000d' % 1",
    "huge range": "x = list(range(10**9))",
    "doubling by unpacking": "x = [0] * 10**6\nx = [*x, *x]",
    "doubling by extend": "x = [0] * 10**6\nx.extend(x)",
    "doubling by slice assignment": "x = [0] * 10**6\nx[:0] = x",
    "doubling by sum": "x = [0] * 10**6\nx = sum([x, x], [])",
    "huge Decimal to int": "x = int(Decimal('1e999999'))",
    "huge Decimal to int ratio": "x = Decimal('1e999999').as_integer_ratio()",
    "huge Decimal formatted": "x = f\"{Decimal('1e999999999'):f}\"",
    "refusal swallowed by a bare except": "try:\n    x = 'a' * 10**9\nexcept:\n    x = 1",
}


# A step or size budget stops every runaway: the time budget is set far out of reach, so these cases
# say nothing about how fast the machine is (a recursion that swallows RecursionError is slow per step).
STEP_BOUND = Limits(max_steps=20_000, max_seconds=120)
BUDGET_MESSAGE = r"exceeded 20000 steps|exponent \d+ is above|would have (about )?\d+ (bits|items)|not allowed|Decimal"


@pytest.mark.parametrize("script", RUNAWAYS.values(), ids=RUNAWAYS.keys())
def test_runaway_is_stopped_by_its_step_or_size_budget(script: str) -> None:
    with pytest.raises(ScriptLimitError, match=BUDGET_MESSAGE) as stopped:
        RestrictedEnvironment(limits=STEP_BOUND).execute(script, {})
    assert "longer than" not in str(stopped.value)


def test_runaway_expression_stops_too() -> None:
    with pytest.raises(ScriptLimitError):
        RestrictedEnvironment().evaluate("sum(1 for _ in iter(int, 1))", {})


def test_step_limit_is_configurable_and_counted_per_call() -> None:
    env = RestrictedEnvironment(limits=Limits(max_steps=1_000))
    for _ in range(3):  # the counter lives in the call, not in the cached code
        env.execute("for i in range(400):\n    pass", {})
    with pytest.raises(ScriptLimitError, match="1000 steps"):
        env.execute("for i in range(600):\n    pass", {})


def test_time_limit_stops_a_loop_once_its_clock_passes_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter(range(0, 10**9, 1))  # a monotonic clock that moves one second per reading
    monkeypatch.setattr(guards, "time", types.SimpleNamespace(monotonic=lambda: float(next(ticks))))
    with pytest.raises(ScriptLimitError, match="longer than 5 s"):
        run("while True:\n    x = sorted(range(10))", limits=Limits(max_steps=10**12, max_seconds=5))
    assert next(ticks) <= 10  # stopped at the first readings past the deadline, not by the step budget


def test_script_limit_error_is_a_sandbox_error_that_callers_can_catch() -> None:
    with pytest.raises(SandboxError):
        run("while True:\n    pass")


# --- compile cache ---------------------------------------------------------------------------------

def test_compile_cache_returns_the_same_code_object_for_the_same_source() -> None:
    assert compile_script("x = 1 + 2") is compile_script("x = 1 + 2")
    assert compile_expression(" a > 1 ") is compile_expression("a > 1")
    assert compile_script("x = 1 + 2") is not compile_script("x = 1 + 3")


# --- end to end with SpiffWorkflow ------------------------------------------------------------------

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://example.com/t">
  <bpmn:process id="quote" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="price" />
    <bpmn:scriptTask id="price">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>SCRIPT</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="price" targetRef="route" />
    <bpmn:exclusiveGateway id="route" default="to_auto">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>to_review</bpmn:outgoing><bpmn:outgoing>to_auto</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="to_review" sourceRef="route" targetRef="review_end">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">premium &gt; 100</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_auto" sourceRef="route" targetRef="auto_end" />
    <bpmn:endEvent id="review_end"><bpmn:incoming>to_review</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="auto_end"><bpmn:incoming>to_auto</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def workflow(script: str, data: dict[str, Any]) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(etree.fromstring(BPMN.replace("SCRIPT", script).encode()), filename="t.bpmn")
    engine = PythonScriptEngine(environment=RestrictedEnvironment())
    wf = BpmnWorkflow(parser.get_spec("quote"), script_engine=engine)
    wf.get_tasks(spec_name="start")[0].data.update(data)
    return wf


def completed(wf: BpmnWorkflow) -> set[str]:
    return {t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id}


@pytest.mark.parametrize(("base", "end"), [(100, "review_end"), (10, "auto_end")])
def test_workflow_script_result_lands_in_task_data_and_drives_the_gateway(base: int, end: str) -> None:
    wf = workflow("premium = round(base * 1.2, 2)", {"base": base})
    wf.do_engine_steps()
    assert wf.is_completed()
    assert wf.data["premium"] == round(base * 1.2, 2)
    other = "auto_end" if end == "review_end" else "review_end"
    assert end in completed(wf) and other not in completed(wf)


def test_workflow_script_that_imports_fails_the_task_instead_of_running() -> None:
    wf = workflow("import os\nran = True", {"base": 1})
    with pytest.raises(WorkflowTaskException) as failed:
        wf.do_engine_steps()
    assert isinstance(failed.value.__context__, ScriptRejectedError)
    [task] = wf.get_tasks(state=TaskState.ERROR)
    assert task.task_spec.bpmn_id == "price"
    assert "ran" not in task.data


def test_workflow_runaway_script_fails_the_task_with_the_limit_error() -> None:
    wf = workflow("while True:\n    try:\n        pass\n    except Exception:\n        pass", {"base": 1})
    with pytest.raises(WorkflowTaskException) as failed:
        wf.do_engine_steps()
    assert failed.value.error_type == "ScriptLimitError"
    assert [t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.ERROR)] == ["price"]
