"""`python -m insureflow` is the `insureflow` command."""

from .cli import main

main()
