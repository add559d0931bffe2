"""Service-task handlers, one module per area; each module lists its handlers in `HANDLERS`."""
