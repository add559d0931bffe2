"""The engine: SpiffWorkflow wrapped, with no Flask and no insurance domain in it.

Four rooms, each used through its public face (its __init__):
- engine.workflow   the core: deploying, running cases, human tasks, forms, who acts and sees what;
- engine.authoring  drafts, version diffs, dry runs, migration of waiting cases;
- engine.audit      case audit, integrity checks and checkpoints, replay;
- engine.identity   user accounts: users, passwords, API tokens, administration, rate limits.
engine.registry is the domain's one door (handlers), engine.errors every error raised on purpose, and
engine.worker runs every room's due work. The rooms' layering is an import-linter contract (pyproject.toml).
"""
