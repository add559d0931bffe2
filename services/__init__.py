"""The service layer: one function per use case, between the faces (the web UI, the API, the CLI) and the
core (`engine/`, `tasks/`). A service opens the one unit of work, checks access once, calls the core, and
returns a plain read-only view that the faces render."""
