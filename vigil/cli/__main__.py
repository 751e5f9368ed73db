"""`python -m vigil.cli`: the `vigil` command."""

from vigil.cli import main

main()
