"""Code in diagrams and decision tables checked before it is stored: scripts, conditions, parameter expressions
and every DMN cell as the sandbox will run them (engine/sandbox)."""

from __future__ import annotations

from lxml import etree

from engine.errors import Problem

from .sandbox import check_expression, check_script


def code_problems(file: str, element: str | None, line: int | None, source: str, *, script: bool) -> list[Problem]:
    """What the sandbox refuses in a script or an expression, at its line in the file."""
    found = check_script(source) if script else check_expression(source)
    return [
        Problem(file, f"{'script' if script else 'expression'} refused: {err.reason}", element,
                (line + (err.lineno or 1) - 1) if line and script else line)
        for err in found
    ]


def dmn_problems(name: str, tree: etree._ElementTree) -> list[Problem]:
    """What the engine would refuse in a decision table's input expressions and cells."""
    problems: list[Problem] = []

    def local(node: etree._Element, tag: str) -> list[etree._Element]:
        return node.xpath(f".//*[local-name()='{tag}']")

    for table in local(tree.getroot(), "decisionTable"):
        inputs = []
        for inp in table.xpath("./*[local-name()='input']"):
            texts = local(inp, "text")
            expr = (texts[0].text or "").strip() if texts else ""
            inputs.append(expr)
            if expr:
                problems += code_problems(name, inp.get("id"), texts[0].sourceline, expr, script=False)
        for rule in table.xpath("./*[local-name()='rule']"):
            entries = rule.xpath("./*[local-name()='inputEntry']")
            for index, entry in enumerate(entries):
                texts = local(entry, "text")
                text = (texts[0].text or "").strip() if texts else ""
                if not text or text == "-" or index >= len(inputs):
                    continue
                input_expr = inputs[index] or "None"
                joined = _dmn_match(input_expr, text)
                if joined == input_expr + text and (input_expr[-1:].isalnum() or input_expr.endswith("_")) \
                        and (text[:1].isalnum() or text.startswith("_")):
                    problems.append(Problem(name, f"cell {text!r} is read as {joined!r} (the engine joins the input "
                                            f"and the cell without a space); write it as '? {text}'",
                                            rule.get("id"), texts[0].sourceline))
                    continue
                problems += code_problems(name, rule.get("id"), texts[0].sourceline, joined, script=False)
            for out in rule.xpath("./*[local-name()='outputEntry']"):
                texts = local(out, "text")
                text = (texts[0].text or "").strip() if texts else ""
                if text:
                    problems += code_problems(name, rule.get("id"), texts[0].sourceline, text, script=False)
    return problems


def _dmn_match(input_expr: str, match: str) -> str:
    """The expression SpiffWorkflow's DMN engine evaluates for one cell (see DMNEngine.evaluate)."""
    if "?" in match:
        return match.replace("?", "dmninputexpr")
    try:
        compile(match, "<cell>", "eval")
        return f"({input_expr}) == ({match})"
    except SyntaxError:
        return input_expr + match  # joined without a space, exactly as the DMN engine does
